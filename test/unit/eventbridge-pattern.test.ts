import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type EventPattern, matchesPattern } from '../support/eventbridge-pattern.js';

/**
 * test/support/eventbridge-pattern.ts against the examples of the EventBridge user guide ("Event
 * patterns", "Content filtering in Amazon EventBridge event patterns"): the guide's EC2 state-change
 * event, and its patterns for each operator, with the outcome the guide gives.
 */
const event = JSON.parse(readFileSync('test/fixtures/eventbridge/ec2-state-change.json', 'utf8')) as Record<
  string,
  unknown
>;
const match = (pattern: EventPattern) => matchesPattern(pattern, event);

describe('EventBridge pattern semantics (test support)', () => {
  it('matches exact values, ANDs fields, ORs the values of one field, ignores fields it does not name', () => {
    expect(match({ source: ['aws.ec2'] })).toBe(true);
    expect(match({ source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] })).toBe(
      true,
    );
    expect(match({ source: ['aws.ec2'], detail: { state: ['running', 'terminated'] } })).toBe(true);
    expect(match({ source: ['aws.ec2'], detail: { state: ['running'] } })).toBe(false);
    expect(match({ source: ['AWS.EC2'] })).toBe(false); // case-sensitive
    expect(match({ detail: { 'c-count': [5] } })).toBe(true);
    expect(match({ detail: { 'c-count': ['5'] } })).toBe(false); // a number is not its string
    expect(match({ detail: { 'source-ip': [null] } })).toBe(true);
    expect(match({ detail: { missing: ['x'] } })).toBe(false);
  });

  it('matches an event array when any element matches', () => {
    expect(match({ resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'] })).toBe(
      true,
    );
    expect(match({ resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-other'] })).toBe(false);
  });

  it('prefix', () => {
    expect(match({ time: [{ prefix: '2017-12-22' }] })).toBe(true);
    expect(match({ time: [{ prefix: '2017-10-02' }] })).toBe(false);
    expect(match({ detail: { state: [{ prefix: { 'equals-ignore-case': 'TERM' } }] } })).toBe(true);
  });

  it('anything-but: a value, a list, a prefix; never a missing field', () => {
    expect(match({ detail: { state: [{ 'anything-but': 'initializing' }] } })).toBe(true);
    expect(match({ detail: { state: [{ 'anything-but': 'terminated' }] } })).toBe(false);
    expect(match({ detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } })).toBe(true);
    expect(match({ detail: { state: [{ 'anything-but': ['stopped', 'terminated'] }] } })).toBe(false);
    expect(match({ detail: { state: [{ 'anything-but': { prefix: 'term' } }] } })).toBe(false);
    expect(match({ detail: { state: [{ 'anything-but': { prefix: 'init' } }] } })).toBe(true);
    expect(match({ detail: { missing: [{ 'anything-but': 'x' }] } })).toBe(false);
  });

  it('numeric ranges', () => {
    expect(
      match({
        detail: {
          'c-count': [{ numeric: ['>', 0, '<=', 5] }],
          'd-count': [{ numeric: ['<', 10] }],
          'x-limit': [{ numeric: ['=', 3.018e2] }],
        },
      }),
    ).toBe(true);
    expect(match({ detail: { 'c-count': [{ numeric: ['>', 5] }] } })).toBe(false);
    expect(match({ detail: { state: [{ numeric: ['>', 0] }] } })).toBe(false); // not a number
  });

  it('exists', () => {
    expect(match({ detail: { state: [{ exists: true }] } })).toBe(true);
    expect(match({ detail: { 'no-such-field': [{ exists: false }] } })).toBe(true);
    expect(match({ detail: { state: [{ exists: false }] } })).toBe(false);
    expect(match({ detail: { 'no-such-field': [{ exists: true }] } })).toBe(false);
  });

  it('fails on an operator it does not implement, rather than match quietly', () => {
    expect(() => match({ detail: { state: [{ wildcard: 'term*' }] } })).toThrow(/not implemented/);
    expect(() => match({ detail: { state: [] } })).toThrow(/empty array/);
  });
});

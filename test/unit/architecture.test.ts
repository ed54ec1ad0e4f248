import { createRequire } from 'node:module';
import { cruise, type IForbiddenRuleType } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

/**
 * The folder rules of docs/architecture.md (.dependency-cruiser.cjs, run by `npm run lint`) can fail:
 * on a miniature of the layout with planted back-references (test/fixtures/architecture/), they report
 * exactly the planted edges and none of the allowed ones.
 */
const config = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as {
  forbidden: IForbiddenRuleType[];
};

describe('the dependency rules', () => {
  it('fails when the engine imports an adapter, modules form a cycle the CDK app imports a handler a shared helper imports up, or the read side runs a load step', async () => {
    // Act
    const result = await cruise(
      ['functions', 'lib'],
      {
        validate: true,
        ruleSet: { forbidden: config.forbidden },
        baseDir: 'test/fixtures/architecture',
        tsPreCompilationDeps: true,
        doNotFollow: { path: 'node_modules' },
      },
      { extensions: ['.ts', '.js'] },
    );
    // Assess
    const output = result.output as Exclude<typeof result.output, string>;
    expect(output.summary.totalCruised).toBe(12);
    expect(output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort()).toEqual([
      'cdk-reads-only-the-spec: lib/stack.ts → functions/handlers/run.ts',
      'engine-is-the-core: functions/engine/run/prepare.ts → functions/adapters/storage/folder.ts',
      'no-circular: functions/engine/run/cycle-a.ts → functions/engine/run/cycle-b.ts',
      'read-side-reads-through-ports: functions/engine/read-side/runs.ts → functions/engine/run/prepare.ts',
      'shared-imports-nothing: functions/shared/days.ts → functions/engine/run/cycle-a.ts',
    ]);
  });
});

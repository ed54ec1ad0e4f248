/**
 * Resolves the CloudFormation intrinsics of a template value to plausible literal values, as a deploy
 * would: enough to validate and compare a definition after substitution without an account.
 */
export function resolveIntrinsics(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(resolveIntrinsics).join(sep);
  }
  if ('Ref' in v) return fakeRef(String(v.Ref));
  if ('Fn::GetAtt' in v) {
    const [id, attr] = v['Fn::GetAtt'] as [string, string];
    return fakeGetAtt(id, attr);
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

function fakeRef(name: string): string {
  if (name === 'AWS::Region') return REGION;
  if (name === 'AWS::AccountId') return ACCOUNT;
  if (name === 'AWS::Partition') return 'aws';
  if (/Subnet/.test(name)) return `subnet-${hex(name)}`;
  if (/Proxy.*Endpoint/.test(name))
    return `sluice-test.proxy-${hex(name).slice(0, 12)}.${REGION}.rds.amazonaws.com`;
  if (/Secret/.test(name))
    return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:sluice-test-admin-AbC123`;
  if (/Key.*Arn$/.test(name)) return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${hex(name)}`;
  if (/SecurityGroup/.test(name)) return `sg-${hex(name)}`;
  if (/Cluster.*Arn$/.test(name)) return `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/sluice-test`;
  if (/Staging|Landing/.test(name)) return `sluice-test-${hex(name).slice(0, 8)}`;
  return `ref-${hex(name)}`;
}

function fakeGetAtt(id: string, attr: string): string {
  if (attr === 'SpecLocation') return `s3://sluice-test-staging/specs/${id}/0123abcd.json`;
  if (/Function/.test(id) && attr === 'Arn') return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
  return `arn:aws:test:${REGION}:${ACCOUNT}:${id}/${attr}`;
}

function hex(s: string): string {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h.toString(16).padStart(8, '0').repeat(2).slice(0, 17);
}

/** CloudFormation's DefinitionSubstitutions: each `${Key}` replaced by its value, nothing else. */
export function cloudFormationSubstitute(definition: string, values: Record<string, string>): string {
  return definition.replace(/\$\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config.js';
import { PipelineConfigError } from '../../lib/constructs/pipeline.js';
import { cdkJsonContext, fixturePipelines, synthSluice } from './support/synth.js';
import { resources } from './support/template.js';

/** cdk.json's stages, with one stage's network replaced. */
function stagesWithNetwork(stage: string, network: Record<string, unknown>): Record<string, unknown> {
  const stages = structuredClone(cdkJsonContext()['sluice:stages']) as Record<
    string,
    Record<string, unknown>
  >;
  stages[stage] = { ...stages[stage], network };
  return { 'sluice:stages': stages };
}

describe('egress for sources (13.1)', () => {
  it('a stage with NAT routes the functions’ subnets out and opens only the source’s port to its CIDRs', async () => {
    const specs = await fixturePipelines('crm-contacts');
    const { template, pipelines } = synthSluice({
      stage: 'dev',
      specs,
      context: stagesWithNetwork('dev', {
        endpointsInEveryAz: false,
        egress: { mode: 'nat', natGateways: 1, sourceCidrs: ['10.20.0.0/16'] },
      }),
    });

    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.resourceCountIs('AWS::EC2::InternetGateway', 1);
    // The route out: 0.0.0.0/0 through the NAT gateway, from the subnets the functions run in.
    const natRoutes = Object.entries(resources(template, 'AWS::EC2::Route')).filter(
      ([, r]) => r.Properties.DestinationCidrBlock === '0.0.0.0/0' && 'NatGatewayId' in r.Properties,
    );
    expect(natRoutes.map(([id]) => id).every((id) => id.includes('egress'))).toBe(true);
    expect(natRoutes).toHaveLength(2);
    // The database stays in the isolated subnets: no route out from them.
    const isolatedRoutes = Object.keys(resources(template, 'AWS::EC2::Route')).filter((id) =>
      id.includes('privateSubnet'),
    );
    expect(isolatedRoutes).toEqual([]);

    const compute = Object.values(resources(template, 'AWS::EC2::SecurityGroup')).find(
      (g) => g.Properties.GroupDescription === 'Sluice functions and chunk worker tasks',
    );
    const egress = compute?.Properties.SecurityGroupEgress as Record<string, unknown>[];
    expect(egress).toContainEqual(
      expect.objectContaining({ CidrIp: '10.20.0.0/16', FromPort: 6432, ToPort: 6432, IpProtocol: 'tcp' }),
    );
    expect(egress).toContainEqual(
      expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 }),
    );
    // Nothing else to the internet: no all-traffic rule, no other port.
    expect(
      egress
        .filter((r) => r.CidrIp !== undefined)
        .map((r) => r.FromPort)
        .sort(),
    ).toEqual([443, 6432]);
    expect(egress.some((r) => r.IpProtocol === '-1')).toBe(false);

    // The pipeline's functions run in the subnets with the route.
    const functions = Object.values(resources(pipelines['crm-contacts']!, 'AWS::Lambda::Function'));
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) {
      const subnets = JSON.stringify((fn.Properties.VpcConfig as { SubnetIds: unknown }).SubnetIds);
      expect(subnets).toContain('egress');
    }
  }, 300_000);

  it('fails when the stage has no egress, naming the pipeline, the connector and the setting', async () => {
    const specs = await fixturePipelines('crm-contacts');
    const synth = () =>
      synthSluice({
        stage: 'dev',
        specs,
        context: stagesWithNetwork('dev', { endpointsInEveryAz: false, egress: { mode: 'none' } }),
      });

    expect(synth).toThrow(PipelineConfigError);
    expect(synth).toThrow(
      'pipeline "crm-contacts": source connector "postgres" needs egress to a database on TCP 6432, but stage "dev" has none: set sluice:stages.dev.network.egress.mode to "nat" or "existing-vpc" in cdk.json',
    );
  }, 300_000);

  it('an existing VPC is imported from its ids (no lookup) and runs everything in its private subnets', async () => {
    const specs = await fixturePipelines('crm-contacts');
    const { template, pipelines } = synthSluice({
      stage: 'dev',
      specs,
      context: stagesWithNetwork('dev', {
        endpointsInEveryAz: false,
        egress: {
          mode: 'existing-vpc',
          vpcId: 'vpc-0123456789abcdef0',
          vpcCidrBlock: '10.0.0.0/16',
          availabilityZones: ['eu-west-1a', 'eu-west-1b'],
          privateSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
          routeTableIds: ['rtb-0aaaaaaaaaaaaaaa1', 'rtb-0bbbbbbbbbbbbbbb2'],
          sourceCidrs: ['192.168.0.0/16'],
        },
      }),
    });

    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::RDS::DBSubnetGroup', {
      SubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
    });
    const fn = Object.values(resources(pipelines['crm-contacts']!, 'AWS::Lambda::Function'))[0];
    expect(JSON.stringify(fn?.Properties.VpcConfig)).toContain('subnet-0aaaaaaaaaaaaaaa1');
  }, 300_000);

  it('fails when an existing VPC’s subnets, AZs and route tables do not pair up, naming the field', () => {
    expect(() =>
      resolveStageConfig('dev', {
        dev: {
          network: {
            egress: {
              mode: 'existing-vpc',
              vpcId: 'vpc-0123456789abcdef0',
              vpcCidrBlock: '10.0.0.0/16',
              availabilityZones: ['eu-west-1a', 'eu-west-1b'],
              privateSubnetIds: [
                'subnet-0aaaaaaaaaaaaaaa1',
                'subnet-0bbbbbbbbbbbbbbb2',
                'subnet-0ccccccccccccccc3',
              ],
              routeTableIds: ['rtb-0aaaaaaaaaaaaaaa1', 'rtb-0bbbbbbbbbbbbbbb2'],
            },
          },
        },
      }),
    ).toThrow(
      'sluice:stages.dev.network.egress.privateSubnetIds: give one private subnet and one route table per availability zone',
    );
  });

  it('fails when the stage config names an egress mode that does not exist', () => {
    expect(() =>
      synthSluice({
        stage: 'dev',
        specs: [],
        context: stagesWithNetwork('dev', { egress: { mode: 'vpn' } }),
      }),
    ).toThrow(/sluice:stages\.dev\.network\.egress\.mode/);
  });
});

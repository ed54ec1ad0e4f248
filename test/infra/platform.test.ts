import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, Stage, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LoadedSpec } from '../../functions/engine/spec/parse.js';
import { examplePipelines, fixturePipelines, type SynthResult, synthSluice } from './support/synth.js';

/** Resources of one type in a template, as plain objects. */
function resourcesOf(
  template: Template,
  type: string,
): Record<string, { Properties: Record<string, unknown>; [k: string]: unknown }> {
  return template.findResources(type) as never;
}

/** Both stages are synthesized once, with the example pipelines, the test fixtures and the GitHub deploy stack. */
let specs: LoadedSpec[];
let prod: SynthResult;
let dev: SynthResult;
beforeAll(async () => {
  specs = [...(await examplePipelines()), ...(await fixturePipelines('payments', 'manual'))];
  prod = synthSluice({ stage: 'prod', specs, githubRepository: 'acme/sluice' });
  dev = synthSluice({ stage: 'dev', specs, githubRepository: 'acme/sluice' });
});

describe('platform stack (prod)', () => {
  let t: Template;
  beforeAll(() => {
    t = prod.template;
  });

  describe('network', () => {
    it('has NAT egress (network.egress: nat, 2 gateways) for sources, and no public address on launch', () => {
      t.resourceCountIs('AWS::EC2::InternetGateway', 1);
      t.resourceCountIs('AWS::EC2::NatGateway', 2);
      // isolated (database), egress (functions, workers), public (NAT gateways only): two AZs each.
      t.resourceCountIs('AWS::EC2::Subnet', 6);
      t.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
    });

    it('reaches S3 through a gateway endpoint and the other AWS APIs through interface endpoints', () => {
      const endpoints = Object.values(resourcesOf(t, 'AWS::EC2::VPCEndpoint')).map((r) =>
        JSON.stringify(r.Properties.ServiceName),
      );
      for (const service of [
        's3',
        'secretsmanager',
        'kms',
        'sts',
        'states',
        'logs',
        'ecr.api',
        'ecr.dkr',
        'events',
        'xray',
      ]) {
        expect(
          endpoints.some((name) => name.includes(`.${service}"`)),
          service,
        ).toBe(true);
      }
      t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Gateway',
        ServiceName: Match.anyValue(),
      });
      t.allResourcesProperties('AWS::EC2::VPCEndpoint', Match.objectLike({}));
      const interfaces = Object.values(resourcesOf(t, 'AWS::EC2::VPCEndpoint')).filter(
        (r) => r.Properties.VpcEndpointType === 'Interface',
      );
      expect(interfaces).toHaveLength(9);
      for (const e of interfaces) expect(e.Properties.PrivateDnsEnabled).toBe(true);
    });

    it('admits HTTPS to the endpoints only from Sluice security groups, never from an address range', () => {
      const ingress = Object.values(resourcesOf(t, 'AWS::EC2::SecurityGroupIngress'));
      const https = ingress.filter((r) => r.Properties.FromPort === 443);
      expect(https.length).toBeGreaterThanOrEqual(3);
      for (const rule of ingress) {
        expect(rule.Properties.CidrIp, 'no CIDR ingress').toBeUndefined();
        expect(rule.Properties.SourceSecurityGroupId).toBeDefined();
      }
    });

    it('logs every flow to an encrypted log group and closes the default security group', () => {
      t.hasResourceProperties('AWS::EC2::FlowLog', {
        ResourceType: 'VPC',
        TrafficType: 'ALL',
        LogDestinationType: 'cloud-watch-logs',
      });
      t.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
      t.allResourcesProperties('AWS::Logs::LogGroup', {
        KmsKeyId: Match.anyValue(),
        RetentionInDays: Match.anyValue(),
      });
    });
  });

  describe('encryption key', () => {
    it('is customer-managed, rotated, kept on stack deletion', () => {
      t.hasResource('AWS::KMS::Key', {
        Properties: { EnableKeyRotation: true, PendingWindowInDays: 30 },
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
      t.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/sluice-prod' });
    });
  });

  describe('buckets', () => {
    const kmsEncrypted = {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() },
            BucketKeyEnabled: true,
          },
        ],
      },
    };

    it('encrypts staging and landing with the stage key, blocks public access, logs access, keeps versions', () => {
      // staging, landing, access logs, and the audit anchor (SSE-S3, Object Lock: audit-anchor.test.ts)
      const buckets = Object.values(resourcesOf(t, 'AWS::S3::Bucket'));
      expect(buckets).toHaveLength(4);
      const encrypted = buckets.filter((b) =>
        JSON.stringify(b.Properties.BucketEncryption).includes('aws:kms'),
      );
      expect(encrypted).toHaveLength(2);
      for (const b of buckets) {
        expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        });
        expect(b.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
        expect(b.DeletionPolicy).toBe('Retain');
      }
      for (const b of encrypted) expect(b.Properties.LoggingConfiguration).toBeDefined();
      t.hasResourceProperties('AWS::S3::Bucket', kmsEncrypted);
    });

    it('refuses anything but TLS on every bucket', () => {
      const policies = Object.values(resourcesOf(t, 'AWS::S3::BucketPolicy'));
      expect(policies).toHaveLength(4);
      for (const p of policies) {
        expect(JSON.stringify(p.Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
      }
    });

    it('expires run files (staging and rejects under runs/) but never the published specs', () => {
      t.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({
              Id: 'expire-run-files',
              Prefix: 'runs/',
              ExpirationInDays: 14,
              Status: 'Enabled',
            }),
          ]),
        },
      });
      const rules = Object.values(resourcesOf(t, 'AWS::S3::Bucket')).flatMap(
        (b) =>
          (
            b.Properties.LifecycleConfiguration as
              | { Rules: { Prefix?: string; ExpirationInDays?: number }[] }
              | undefined
          )?.Rules ?? [],
      );
      expect(
        rules.filter(
          (r) => r.ExpirationInDays !== undefined && r.Prefix === undefined && r.ExpirationInDays < 90,
        ),
      ).toEqual([]);
    });

    it("sends the landing bucket's object events to EventBridge natively", () => {
      t.hasResourceProperties('AWS::S3::Bucket', {
        NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
      });
      t.resourceCountIs('Custom::S3BucketNotifications', 0);
    });
  });

  describe('database', () => {
    it('is Aurora PostgreSQL Serverless v2, encrypted, IAM authentication, backups, deletion protection', () => {
      t.hasResource('AWS::RDS::DBCluster', {
        Properties: {
          Engine: 'aurora-postgresql',
          StorageEncrypted: true,
          KmsKeyId: Match.anyValue(),
          EnableIAMDatabaseAuthentication: true,
          BackupRetentionPeriod: 35,
          DeletionProtection: true,
          ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 32 },
          EnableCloudwatchLogsExports: ['postgresql'],
          Port: 5432,
        },
        DeletionPolicy: 'Retain',
      });
      t.resourcePropertiesCountIs(
        'AWS::RDS::DBInstance',
        { DBInstanceClass: 'db.serverless', PubliclyAccessible: false },
        2,
      );
      t.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', { Parameters: { 'rds.force_ssl': '1' } });
    });

    it('rotates the admin secret, which is encrypted with the stage key', () => {
      t.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: Match.anyValue() });
      t.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
      });
    });

    it('pools connections through an RDS Proxy that requires TLS', () => {
      t.hasResourceProperties('AWS::RDS::DBProxy', {
        EngineFamily: 'POSTGRESQL',
        RequireTLS: true,
        DBProxyName: 'sluice-prod',
      });
      t.resourceCountIs('AWS::RDS::DBProxyTargetGroup', 1);
    });

    it('admits PostgreSQL only from the proxy, the migration function and secret rotation', () => {
      const toDb = Object.values(resourcesOf(t, 'AWS::EC2::SecurityGroupIngress')).filter(
        (r) => r.Properties.FromPort === 5432,
      );
      expect(toDb.map((r) => r.Properties.Description).sort()).toEqual([
        'Allow connections to the database Cluster from the Proxy',
        'Functions and worker to RDS Proxy',
        'Migrations to Aurora',
        expect.stringMatching(/^from SluiceprodDatabaseRotationSecurityGroup/),
      ]);
    });

    it('applies versioned migrations with a custom resource through the provider framework', () => {
      t.hasResourceProperties('Custom::SluiceInternalSchema', {
        Kind: 'internal-schema',
        Code: Match.anyValue(),
      });
    });
  });

  it('runs heavy chunks on an ECS cluster with Container Insights', () => {
    t.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterName: 'sluice-prod',
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enhanced' }],
    });
  });

  it('sends alarms to a topic encrypted with the key that only accepts TLS', () => {
    t.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'sluice-prod-alarms',
      KmsMasterKeyId: Match.anyValue(),
    });
    expect(JSON.stringify(t.findResources('AWS::SNS::TopicPolicy'))).toContain('aws:SecureTransport');
  });

  it('carries run events on the stage bus', () => {
    t.hasResourceProperties('AWS::Events::EventBus', { Name: 'sluice-prod' });
  });

  it('holds one nested stack per pipeline, created after the internal migrations', () => {
    const nested = resourcesOf(t, 'AWS::CloudFormation::Stack');
    expect(Object.keys(nested)).toHaveLength(Object.keys(prod.pipelines).length);
    for (const stack of Object.values(nested)) {
      expect(JSON.stringify(stack.DependsOn)).toContain('MigrationsInternalSchema');
    }
  });

  it('is protected from termination outside dev', () => {
    expect(prod.platform.terminationProtection).toBe(true);
  });
});

describe('platform stack (dev)', () => {
  it('follows the dev configuration: no deletion protection, disposable buckets, scale to zero', () => {
    dev.template.hasResource('AWS::RDS::DBCluster', {
      Properties: {
        DeletionProtection: false,
        ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 4, SecondsUntilAutoPause: 1800 },
      },
      DeletionPolicy: 'Snapshot',
    });
    // Every bucket but the audit anchor, whose locked versions outlive any stack (audit-anchor.test.ts).
    const buckets = Object.entries(dev.template.findResources('AWS::S3::Bucket'));
    for (const [id, bucket] of buckets) {
      expect(bucket.DeletionPolicy, id).toBe(id.startsWith('AuditAnchorBucket') ? 'Retain' : 'Delete');
    }
    expect(buckets.filter(([id]) => id.startsWith('AuditAnchorBucket'))).toHaveLength(1);
    dev.template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
    expect(dev.platform.terminationProtection).toBe(false);
  });

  it('puts the interface endpoints in one AZ to halve their hourly cost', () => {
    const endpoint = Object.values(dev.template.findResources('AWS::EC2::VPCEndpoint')).find(
      (r) => r.Properties.VpcEndpointType === 'Interface',
    );
    expect(endpoint?.Properties.SubnetIds).toHaveLength(1);
  });
});

interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
  construct: IConstruct;
}

/**
 * Every cdk-nag acknowledgement (suppression) recorded in the app, where it was made and why. (aws-cdk-lib
 * acknowledges some of its own CloudFormation-Validate template checks, e.g. W3010 on stacks that read
 * their AZs and F3002 on flow logs; those are not nag findings.)
 */
function acknowledgements(app: App): Acknowledgement[] {
  return app.node
    .findAll()
    .flatMap((construct) =>
      construct.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) =>
          Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
            path: construct.node.path,
            id,
            reason,
            construct,
          })),
        ),
    )
    .filter((a) => !a.id.startsWith('CloudFormation-Validate::'));
}

function violations(result: SynthResult): string[] {
  const report = JSON.parse(
    readFileSync(join(result.assembly.directory, 'validation-report.json'), 'utf8'),
  ) as {
    pluginReports: {
      pluginName: string;
      violations: { ruleName: string; severity: string; violatingConstructs: { constructPath: string }[] }[];
    }[];
  };
  return report.pluginReports.flatMap((p) =>
    p.violations.flatMap((v) =>
      v.violatingConstructs.map((c) => `${v.severity} ${v.ruleName} ${c.constructPath}`),
    ),
  );
}

describe.each(['prod', 'dev'])('cdk-nag on stage %s (AwsSolutions, Serverless, NIST 800-53 R5)', (stage) => {
  let result: SynthResult;
  beforeAll(() => {
    result = stage === 'prod' ? prod : dev;
  });

  it('runs all three packs', () => {
    const plugins = (
      result.app as unknown as { _validationPlugins: { name: string }[] }
    )._validationPlugins.map((p) => p.name);
    expect(plugins.sort()).toEqual(['AwsSolutions', 'NIST.800.53.R5', 'Serverless']);
  });

  it('reports nothing unsuppressed, errors and warnings alike', () => {
    expect(violations(result)).toEqual([]);
  });

  it('acknowledges findings only on resources, never on a whole stack or the app', () => {
    const wide = acknowledgements(result.app).filter(
      (a) => a.construct instanceof Stack || a.construct instanceof Stage,
    );
    expect(wide.map((a) => `${a.path}: ${a.id}`)).toEqual([]);
  });

  it('gives each acknowledgement a specific reason', () => {
    const acks = acknowledgements(result.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(a.id, a.path).toMatch(/^(AwsSolutions|Serverless|NIST\.800\.53\.R5)::\1-[A-Za-z0-9]+(\[.+\])?$/);
      expect(a.reason.length, `${a.path} ${a.id}: "${a.reason}"`).toBeGreaterThanOrEqual(40);
    }
  });
});

describe('a finding without a reason', () => {
  it('fails synth: wildcards need LeastPrivilegeRole.addWildcardStatement', async () => {
    const { LeastPrivilegeRole } = await import('../../lib/constructs/least-privilege-role.js');
    const { ServicePrincipal, PolicyStatement } = await import('aws-cdk-lib/aws-iam');
    const { AwsSolutionsChecks } = await import('cdk-nag');
    const app = new App();
    const stack = new Stack(app, 'Probe');
    const role = new LeastPrivilegeRole(stack, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'probe',
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bucket/*'] }),
    );
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Resource::arn:aws:s3:::bucket\/\*\]/);
  });
});

describe('GitHub deploy stack (OIDC, no long-lived keys)', () => {
  let t: Template;
  beforeAll(() => {
    t = Template.fromStack(prod.app.node.findChild('SluiceGitHubDeploy') as Stack);
  });

  it("trusts GitHub's OIDC provider for the AWS audience", () => {
    t.hasResourceProperties('AWS::IAM::OIDCProvider', {
      Url: 'https://token.actions.githubusercontent.com',
      ClientIdList: ['sts.amazonaws.com'],
    });
    t.resourceCountIs('AWS::IAM::User', 0);
    t.resourceCountIs('AWS::IAM::AccessKey', 0);
  });

  it.each(['dev', 'staging', 'prod'])(
    'lets only the %s environment of the repository assume its role, for an hour',
    (env) => {
      t.hasResourceProperties('AWS::IAM::Role', {
        RoleName: `sluice-github-deploy-${env}`,
        MaxSessionDuration: 3600,
        AssumeRolePolicyDocument: {
          Statement: [
            Match.objectLike({
              Action: 'sts:AssumeRoleWithWebIdentity',
              Condition: {
                StringEquals: {
                  'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
                  'token.actions.githubusercontent.com:sub': `repo:acme/sluice:environment:${env}`,
                },
              },
            }),
          ],
        },
      });
    },
  );

  it('grants nothing but assuming the CDK bootstrap roles, which deploy', () => {
    const documents = Object.values(t.findResources('AWS::IAM::ManagedPolicy')).map((p) =>
      JSON.stringify(p.Properties.PolicyDocument),
    );
    expect(documents).toHaveLength(3);
    for (const doc of documents) {
      const statements = JSON.parse(doc).Statement as { Action: string[]; Resource: unknown[] }[];
      expect(statements).toHaveLength(1);
      expect(statements[0]?.Action).toEqual(['sts:AssumeRole', 'sts:TagSession']);
      for (const kind of ['deploy', 'file-publishing', 'image-publishing', 'lookup'])
        expect(doc).toContain(`:role/cdk-hnb659fds-${kind}-role-`);
    }
  });
});

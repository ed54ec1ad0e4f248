import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { EgressConfig } from '../config.js';
import { acknowledge } from '../nag.js';
import { LeastPrivilegeRole } from './least-privilege-role.js';

export interface SluiceNetworkProps {
  /** Encrypts the flow log group. */
  readonly encryptionKey: kms.IKey;
  /**
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly flowLogRetention?: logs.RetentionDays;
  /**
   * Put interface endpoints in every AZ (resilient) or only the first (half the hourly endpoint cost).
   * @default true
   */
  readonly endpointsInEveryAz?: boolean;
  /**
   * How functions and worker tasks reach sources outside AWS: no route, NAT gateways, or an existing VPC.
   * @default { mode: 'none' }
   */
  readonly egress?: EgressConfig;
}

/** AWS services the functions and the worker reach through interface endpoints (there is no NAT). */
export const INTERFACE_ENDPOINT_SERVICES = {
  SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  Kms: ec2.InterfaceVpcEndpointAwsService.KMS,
  Sts: ec2.InterfaceVpcEndpointAwsService.STS,
  StepFunctions: ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
  Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
  EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
  EventBridge: ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
  XRay: ec2.InterfaceVpcEndpointAwsService.XRAY,
} as const;

/**
 * The stage's VPC. `none` (the default): private isolated subnets in two AZs, no internet gateway, no
 * NAT. `nat`: the same isolated subnets for the database, plus public subnets with NAT gateways and
 * private subnets routed through them, where functions and worker tasks run. `existing-vpc`: a VPC the
 * account already has, from its ids (offline, never looked up); everything runs in its private subnets.
 * In every mode AWS APIs are reached through an S3 gateway endpoint and interface endpoints, every flow
 * is logged, and the default security group of a VPC this construct creates has no rules.
 */
export class SluiceNetwork extends Construct {
  public readonly vpc: ec2.IVpc;
  /** The egress the stage has: what synth checks each pipeline's source against. */
  public readonly egress: EgressConfig;
  /** Where functions and worker tasks run: isolated subnets, or subnets with a route out. */
  public readonly computeSubnets: ec2.SubnetSelection;
  public readonly flowLogGroup: logs.LogGroup;
  public readonly interfaceEndpoints: Record<
    keyof typeof INTERFACE_ENDPOINT_SERVICES,
    ec2.InterfaceVpcEndpoint
  >;
  /** The interface endpoints' group: HTTPS only from groups given to `allowEndpointsFrom`. */
  public readonly endpointSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: SluiceNetworkProps) {
    super(scope, id);
    this.egress = props.egress ?? { mode: 'none' };
    const isolatedSelection: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    if (this.egress.mode === 'existing-vpc') {
      // The given private subnets are imported as the "isolated" group: every construct that selects
      // isolated subnets (database, endpoints, functions) lands in them, whatever routes they have.
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: this.egress.vpcId,
        vpcCidrBlock: this.egress.vpcCidrBlock,
        availabilityZones: this.egress.availabilityZones,
        isolatedSubnetIds: this.egress.privateSubnetIds,
        isolatedSubnetRouteTableIds: this.egress.routeTableIds,
      });
      this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
      this.computeSubnets = isolatedSelection;
    } else {
      const nat = this.egress.mode === 'nat';
      this.vpc = new ec2.Vpc(this, 'Vpc', {
        ipAddresses: ec2.IpAddresses.cidr('10.42.0.0/16'),
        // Synth is env-agnostic (no account lookups), which allows two AZs; two is what Aurora needs.
        maxAzs: 2,
        natGateways: nat ? this.egress.natGateways : 0,
        // The isolated group comes first so its CIDRs (and the database's subnets) never move when
        // a stage turns NAT on.
        subnetConfiguration: [
          { name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 20 },
          ...(nat
            ? [
                { name: 'egress', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
                {
                  name: 'public',
                  subnetType: ec2.SubnetType.PUBLIC,
                  cidrMask: 24,
                  mapPublicIpOnLaunch: false,
                },
              ]
            : []),
        ],
        restrictDefaultSecurityGroup: true,
        gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      });
      this.computeSubnets = nat ? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } : isolatedSelection;
      for (const subnet of (this.vpc as ec2.Vpc).publicSubnets) {
        const route = subnet.node.tryFindChild('DefaultRoute');
        if (route) {
          acknowledge(route, {
            id: 'NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW',
            reason:
              'The public subnets hold only the NAT gateways (stage config network.egress.mode: nat), which need a default route to the internet gateway; nothing else runs there and no address is public on launch',
          });
        }
      }
    }

    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      encryptionKey: props.encryptionKey,
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const flowLogRole = new LeastPrivilegeRole(this, 'FlowLogRole', {
      assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com'),
      description: 'VPC flow logs delivery to CloudWatch Logs',
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup, flowLogRole),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    const isolated = this.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
    const endpointSubnets: ec2.SubnetSelection =
      (props.endpointsInEveryAz ?? true)
        ? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }
        : { subnets: isolated.subnets.slice(0, 1) };
    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Interface endpoints: HTTPS from Sluice functions, worker tasks and secret rotation only',
      allowAllOutbound: false,
    });
    const endpoints = {} as Record<keyof typeof INTERFACE_ENDPOINT_SERVICES, ec2.InterfaceVpcEndpoint>;
    for (const [name, service] of Object.entries(INTERFACE_ENDPOINT_SERVICES) as [
      keyof typeof INTERFACE_ENDPOINT_SERVICES,
      ec2.InterfaceVpcEndpointAwsService,
    ][]) {
      endpoints[name] = this.vpc.addInterfaceEndpoint(name, {
        service,
        subnets: endpointSubnets,
        privateDnsEnabled: true,
        securityGroups: [this.endpointSecurityGroup],
        open: false,
      });
    }
    this.interfaceEndpoints = endpoints;
  }

  /** Lets a group call AWS APIs through the interface endpoints (HTTPS). */
  public allowEndpointsFrom(peer: ec2.ISecurityGroup, description: string): void {
    this.endpointSecurityGroup.addIngressRule(peer, ec2.Port.tcp(443), description);
  }
}

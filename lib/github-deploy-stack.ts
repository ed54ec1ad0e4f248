import { Aws, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { LeastPrivilegeRole } from './constructs/least-privilege-role.js';

export interface GitHubDeployStackProps extends StackProps {
  /** `owner/name` of the repository whose workflow deploys. */
  readonly repository: string;
  /**
   * GitHub environments that may deploy, one role each (`sluice-github-deploy-<environment>`).
   * @default ['dev', 'staging', 'prod']
   */
  readonly environments?: string[];
  /**
   * The account's existing GitHub OIDC provider (an account has at most one per URL).
   * @default - the stack creates it
   */
  readonly oidcProviderArn?: string;
  /**
   * Qualifier of the `cdk bootstrap` roles the deploy roles may assume.
   * @default 'hnb659fds' (the CDK default)
   */
  readonly bootstrapQualifier?: string;
}

const GITHUB_OIDC_URL = 'https://token.actions.githubusercontent.com';

/**
 * The small bootstrap stack of continuous deployment: GitHub's OIDC provider and one role per GitHub
 * environment that a workflow job of that environment (and no other repository, branch or job) can
 * assume for an hour. The roles can do one thing: assume the CDK bootstrap roles, which deploy.
 * No long-lived keys exist anywhere.
 */
export class GitHubDeployStack extends Stack {
  public readonly roles: Record<string, iam.Role> = {};

  constructor(scope: Construct, id: string, props: GitHubDeployStackProps) {
    super(scope, id, {
      stackName: 'sluice-github-deploy',
      description: `Sluice: roles GitHub Actions of ${props.repository} assume (OIDC) to run cdk deploy`,
      ...props,
    });
    if (!/^[\w.-]+\/[\w.-]+$/.test(props.repository)) {
      throw new Error(`githubRepository must be owner/name, found "${props.repository}"`);
    }
    if (
      props.oidcProviderArn !== undefined &&
      !/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/.test(
        props.oidcProviderArn,
      )
    ) {
      throw new Error(
        `githubOidcProviderArn must be the ARN of the account's GitHub OIDC provider, arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com (found "${props.oidcProviderArn}")`,
      );
    }
    const providerArn =
      props.oidcProviderArn ??
      new iam.OidcProviderNative(this, 'GitHubOidc', {
        url: GITHUB_OIDC_URL,
        clientIds: ['sts.amazonaws.com'],
      }).oidcProviderArn;
    const provider = iam.OidcProviderNative.fromOidcProviderArn(this, 'Provider', providerArn);
    const qualifier = props.bootstrapQualifier ?? 'hnb659fds';
    const bootstrapRole = (kind: string) =>
      `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/cdk-${qualifier}-${kind}-role-${Aws.ACCOUNT_ID}-${Aws.REGION}`;

    for (const environment of props.environments ?? ['dev', 'staging', 'prod']) {
      const role = new LeastPrivilegeRole(this, `Deploy-${environment}`, {
        assumedBy: new iam.OpenIdConnectPrincipal(provider, {
          StringEquals: {
            'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
            'token.actions.githubusercontent.com:sub': `repo:${props.repository}:environment:${environment}`,
          },
        }),
        description: `GitHub Actions of ${props.repository}, environment ${environment}: cdk deploy through the bootstrap roles`,
        roleName: `sluice-github-deploy-${environment}`,
      });
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['sts:AssumeRole', 'sts:TagSession'],
          resources: ['deploy', 'file-publishing', 'image-publishing', 'lookup'].map(bootstrapRole),
        }),
      );
      this.roles[environment] = role;
      new CfnOutput(this, `DeployRoleArn-${environment}`, {
        value: role.roleArn,
        description: `Set as the AWS_DEPLOY_ROLE_ARN variable of the GitHub environment "${environment}"`,
      });
    }
  }
}

import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks } from 'cdk-nag';
import type { StageConfig } from './config.js';
import { GitHubDeployStack } from './github-deploy-stack.js';
import type { PipelineDefinition } from './pipeline-stack.js';
import { SluicePlatformStack } from './platform-stack.js';

export interface SluiceAppProps {
  readonly stage: string;
  readonly config: StageConfig;
  /** Validated specs, one pipeline each. */
  readonly pipelines: PipelineDefinition[];
  /**
   * `owner/repo` of the GitHub repository whose workflow deploys: adds the small bootstrap stack with
   * its OIDC deploy roles.
   * @default - no GitHub deploy stack
   */
  readonly githubRepository?: string;
  /**
   * ARN of the account's existing GitHub OIDC provider (an account has at most one per URL): the deploy
   * stack references it instead of creating one (`-c githubOidcProviderArn=arn:aws:iam::…`).
   * @default - the GitHub deploy stack creates the provider
   */
  readonly githubOidcProviderArn?: string;
  /**
   * Run the cdk-nag packs (AwsSolutions, Serverless, NIST 800-53 R5) at synth: any unacknowledged
   * finding fails it.
   * @default true
   */
  readonly nag?: boolean;
}

/** The stacks of one stage, checked by the three nag packs. */
export function buildSluiceApp(
  app: App,
  props: SluiceAppProps,
): { platform: SluicePlatformStack; github?: GitHubDeployStack } {
  const platform = new SluicePlatformStack(app, `Sluice-${props.stage}`, {
    stage: props.stage,
    config: props.config,
    pipelines: props.pipelines,
  });
  const github = props.githubRepository
    ? new GitHubDeployStack(app, 'SluiceGitHubDeploy', {
        repository: props.githubRepository,
        ...(props.githubOidcProviderArn ? { oidcProviderArn: props.githubOidcProviderArn } : {}),
      })
    : undefined;
  if (props.nag ?? true) {
    Validations.of(app).addPlugins(
      new AwsSolutionsChecks(app),
      new ServerlessChecks(app),
      new NIST80053R5Checks(app),
    );
  }
  return github ? { platform, github } : { platform };
}

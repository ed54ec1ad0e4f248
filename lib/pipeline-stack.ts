import { NestedStack, type NestedStackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { PipelineSpec } from '../functions/engine/spec/schema.js';
import { SluicePipeline } from './constructs/pipeline.js';
import type { SluicePlatform } from './platform.js';

/** A validated spec and its content hash (what `loadSpecFile` returns). */
export interface PipelineDefinition {
  readonly spec: PipelineSpec;
  readonly contentHash: string;
}

export interface SluicePipelineStackProps extends NestedStackProps {
  readonly platform: SluicePlatform;
  readonly pipeline: PipelineDefinition;
}

/**
 * One pipeline as a nested stack of its stage's platform stack: CloudFormation's 500-resource limit
 * applies per pipeline instead of to the whole stage, and platform values arrive as parameters, so a
 * changed value never blocks a deploy the way an in-use export does.
 */
export class SluicePipelineStack extends NestedStack {
  public readonly pipeline: SluicePipeline;

  constructor(scope: Construct, id: string, props: SluicePipelineStackProps) {
    super(scope, id, { description: `Sluice pipeline ${props.pipeline.spec.name}`, ...props });
    this.pipeline = new SluicePipeline(this, 'Pipeline', {
      platform: props.platform,
      spec: props.pipeline.spec,
      specHash: props.pipeline.contentHash,
    });
  }
}

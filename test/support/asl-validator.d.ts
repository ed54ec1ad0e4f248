// asl-validator ships no type declarations.
declare module 'asl-validator' {
  interface AslValidationResult {
    isValid: boolean;
    errors: { message?: string; path?: string; [key: string]: unknown }[];
  }
  function aslValidator(
    definition: unknown,
    options?: Record<string, unknown>,
  ): Promise<AslValidationResult> | AslValidationResult;
  export default aslValidator;
}

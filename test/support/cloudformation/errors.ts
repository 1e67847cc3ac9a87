// The errors the emulator answers with, and how any error reads in a stack event or status reason.

/** An awsQuery error: `code` becomes the response's `<Code>`, `status` its HTTP status. */
export class CloudFormationError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export const validation = (message: string) => new CloudFormationError('ValidationError', message);

/** An error as CloudFormation words it, with the service's status and error code when an SDK call failed. */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status ? `${error.message} (Status Code: ${status}, Error Code: ${error.name})` : error.message;
}

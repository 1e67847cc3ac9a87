/**
 * The one HTTP configuration every AWS SDK client of the platform is built with (SQS, DynamoDB, S3, STS,
 * Lambda, CloudWatch, CloudFormation). Without it the SDK's Node handler waits for ever: a connection that
 * never opens or a service that accepts and never answers held a function, a request or a control-plane
 * sweep until its Lambda timeout (or a function thread's time limit) ended it, with no retry.
 *
 * A timeout is a `TimeoutError`, which the SDK's standard retry strategy retries (with its usual back-off),
 * so one stuck connection costs one attempt, not the call.
 */

/**
 * Opening a TCP (and TLS) connection to an AWS endpoint takes milliseconds in a Region; three seconds is
 * long enough for a cold VPC endpoint or an emulator starting up, and short enough to retry on a new one.
 */
export const CONNECTION_TIMEOUT_MS = 3_000;

/**
 * From sending a request to the response's headers. The shortest Lambda timeout that calls AWS is the API's
 * 29 s (API Gateway's limit); the standard retries' three attempts (four connections were seen for one
 * DynamoDB read in test/adapters/aws-client-timeouts.test.ts) of 6 s plus their back-off (well under a
 * second each) still end inside it, so the caller sees the error rather than a Lambda timeout. The services'
 * own calls (DynamoDB, SQS, S3 puts of workbooks) answer in tens of milliseconds.
 */
export const REQUEST_TIMEOUT_MS = 6_000;

/**
 * SQS's longest long poll (`WaitTimeSeconds` 20): its socket is silent that long by design, so an SQS client's
 * idle-socket limit (see `socketTimeoutMs`) is this plus the usual request timeout.
 */
export const SQS_MAX_WAIT_MS = 20_000;

/** Overrides of the timeouts, in milliseconds (tests use short ones). */
export interface AwsClientTimeouts {
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /**
   * How long the connection may stay silent, response body included; default the request timeout. The
   * request timeout ends at the response's headers: a service that sent them and then stalled (an S3 object
   * whose body stops, a DynamoDB or SQS answer cut off mid-body) held the caller for good, since every SDK
   * call reads its body after the handler returned.
   */
  socketTimeoutMs?: number;
}

/** The SQS client's options: its long polls keep the socket silent up to SQS_MAX_WAIT_MS. */
export const SQS_LONG_POLLS: AwsClientTimeouts = { socketTimeoutMs: SQS_MAX_WAIT_MS + REQUEST_TIMEOUT_MS };

/**
 * The client options to spread into `new XClient({ region, ...awsClientConfig() })`: the handler's constructor
 * options as a plain object (SDK v3.521+), so no direct dependency on `@smithy/node-http-handler`.
 * `throwOnRequestTimeout` makes a late response an error; without it the SDK only logs a warning. A body that
 * stalls past `socketTimeout` fails its read with a `TimeoutError` (the SDK destroys the response stream).
 */
export function awsClientConfig(timeouts: AwsClientTimeouts = {}): {
  requestHandler: {
    connectionTimeout: number;
    requestTimeout: number;
    socketTimeout: number;
    throwOnRequestTimeout: true;
  };
} {
  const requestTimeout = timeouts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  return {
    requestHandler: {
      connectionTimeout: timeouts.connectionTimeoutMs ?? CONNECTION_TIMEOUT_MS,
      requestTimeout,
      socketTimeout: timeouts.socketTimeoutMs ?? requestTimeout,
      throwOnRequestTimeout: true,
    },
  };
}

/**
 * Per-call options for an SQS long poll of `waitTimeSec` seconds: the service holds the request open that
 * long by design, so the request timeout is the wait plus the usual one. A poll without a wait (0) keeps the
 * client's own timeout.
 */
export function longPollOptions(waitTimeSec: number): { requestTimeout?: number } {
  return waitTimeSec > 0 ? { requestTimeout: waitTimeSec * 1000 + REQUEST_TIMEOUT_MS } : {};
}

/**
 * The S3 Control error model: every failure the API returns is an {@link ApiError} with a wire code and an HTTP
 * status. The codes are the modeled exceptions plus `InvalidRequest`, which the real service returns for CreateJob
 * validation failures.
 */

/** Wire error codes and their HTTP statuses (the status mapping is our choice; AWS does not model it). */
export const API_ERROR_STATUS = {
  BadRequestException: 400,
  InvalidRequest: 400,
  InvalidRequestException: 400,
  InvalidNextTokenException: 400,
  TooManyTagsException: 400,
  /** A proxy-style request for a host or path that is not this engine's: it forwards nothing. */
  AccessDenied: 403,
  NotFoundException: 404,
  MethodNotAllowed: 405,
  JobStatusException: 409,
  IdempotencyException: 409,
  TooManyRequestsException: 429,
  InternalServiceException: 500,
  /** An S3 Control operation of the model that this engine does not serve (S3's own code for "not implemented"). */
  NotImplemented: 501,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

/** An error that the server turns into an `<ErrorResponse>` with this code, status and message. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.status = API_ERROR_STATUS[code];
  }
}

/** CreateJob validation failure: the code the real service uses for a bad job definition. */
export const invalidRequest = (message: string) => new ApiError('InvalidRequest', message);
/** A request the API cannot even read (bad XML, missing header, bad query parameter). */
export const badRequest = (message: string) => new ApiError('BadRequestException', message);

/**
 * Errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}` with an HTTP status.
 * Clients (the `openai` package, lm-evaluation-harness, FastChat) read `error.message`; the status
 * decides whether they retry (429 and 5xx) or give up (4xx).
 *
 * @example
 * ```ts
 * import { ApiError, errorBody } from "./errors.ts";
 * const e = ApiError.badParam("temperature", "temperature must be in [0, 2], got 3");
 * errorBody(e); // { error: { message: "temperature must be …", type: "invalid_request_error", param: "temperature", code: null } }
 * ```
 *
 * @module
 */

/** A request the server refuses, with the status and OpenAI error fields to answer with. */
export class ApiError extends Error {
  override readonly name = "ApiError";

  /**
   * @example
   * ```ts
   * throw new ApiError(404, "the model `x` does not exist", "invalid_request_error", "model", "model_not_found");
   * ```
   */
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = "invalid_request_error",
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }

  /**
   * A 400 for one bad request field, named in `param`.
   *
   * @example
   * ```ts
   * ApiError.badParam("n", "n must be an integer >= 1, got 0").status; // 400
   * ```
   */
  static badParam(param: string, message: string, code: string | null = null): ApiError {
    return new ApiError(400, message, "invalid_request_error", param, code);
  }
}

/**
 * The JSON body of an error response. Anything that is not an {@link ApiError} is a server fault
 * (500) whose message is passed on, so the client sees what went wrong.
 *
 * @example
 * ```ts
 * errorBody(new Error("out of memory")).error.type; // "server_error"
 * ```
 */
export const errorBody = (
  error: unknown,
): { error: { message: string; type: string; param: string | null; code: string | null } } => {
  if (error instanceof ApiError) {
    return { error: { message: error.message, type: error.type, param: error.param, code: error.code } };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { error: { message, type: "server_error", param: null, code: null } };
};

/**
 * The HTTP status of an error: the {@link ApiError}'s, else 500.
 *
 * @example
 * ```ts
 * errorStatus(new ApiError(401, "bad key")); // 401
 * ```
 */
export const errorStatus = (error: unknown): number => (error instanceof ApiError ? error.status : 500);

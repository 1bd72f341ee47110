/**
 * The context-length check: prompt tokens plus tokens to generate must fit the model's positions.
 * A 400 in the words vLLM uses, with OpenAI's `context_length_exceeded` code, before any model work.
 *
 * @example
 * ```ts
 * import { checkContext } from "./context.ts";
 * checkContext(60, 16, 64, "prompt"); // throws: 76 tokens > 64
 * ```
 *
 * @module
 */
import { ApiError } from "./errors.ts";

/**
 * Throw a 400 when `promptTokens + maxTokens` exceeds `maxPositions`.
 *
 * @example
 * ```ts
 * checkContext(10, 16, 64, "messages"); // fine
 * ```
 */
export const checkContext = (
  promptTokens: number,
  maxTokens: number,
  maxPositions: number,
  param: string,
): void => {
  if (promptTokens + maxTokens <= maxPositions) return;
  throw new ApiError(
    400,
    `This model's maximum context length is ${maxPositions} tokens. However, you requested ` +
      `${
        promptTokens + maxTokens
      } tokens (${promptTokens} in the ${param}, ${maxTokens} in the completion). ` +
      `Please reduce the length of the ${param} or completion.`,
    "invalid_request_error",
    param,
    "context_length_exceeded",
  );
};

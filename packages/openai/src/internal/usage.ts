import { openAIUsage, type Usage } from '@tollgate/core';

/**
 * The `usage` of a JSON chat completion, read from a clone so the response stays unread.
 * Undefined when the body has none or cannot be read (the permit then keeps its reservation).
 */
export async function readUsage(response: Response): Promise<Usage | undefined> {
  try {
    return openAIUsage(JSON.parse(await response.clone().text()));
  } catch {
    return undefined;
  }
}

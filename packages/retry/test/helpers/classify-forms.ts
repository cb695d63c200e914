import {
  type Classification,
  type ClassifyOptions,
  classify,
  classifyResponse,
  type Provider,
} from '../../src/index.js';
import { type Json, jsonResponse, providerError } from './providers.js';

/** How the error reaches the classifier. */
export type Form = 'openai-sdk' | 'response' | 'plain';

/** Classifies one HTTP answer presented in the given form. */
export function classifyAs(
  form: Form,
  status: number,
  body: Json,
  headers: Record<string, string> = {},
  options: Provider | ClassifyOptions = 'generic',
): Promise<Classification> {
  if (form === 'response') return classifyResponse(jsonResponse(status, body, headers), options);
  return Promise.resolve(
    classify(providerError(form, status, body, new Headers(headers)), options),
  );
}

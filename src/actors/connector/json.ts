// Pomelo's client bodies are UTF-8 JSON; one encoder and decoder for the whole connector.
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value ?? {}));

export const text = (bytes: Uint8Array): string => decoder.decode(bytes);

// Shared pieces of the safetensors tests (not a test file itself).

const enc: TextEncoder = new TextEncoder();

/** A safetensors file assembled by hand: header JSON text (unpadded) + raw data bytes. */
export const handmade = (headerText: string, data: number[] | Uint8Array, lengthOverride?: number): Uint8Array => {
  const header = enc.encode(headerText);
  const out = new Uint8Array(8 + header.length + data.length);
  const n = lengthOverride ?? header.length;
  out[0] = n & 0xff, out[1] = (n >>> 8) & 0xff, out[2] = (n >>> 16) & 0xff, out[3] = (n >>> 24) & 0xff;
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
};

export const bitsOf = (a: Float32Array): number[] => [...new Uint32Array(a.buffer, a.byteOffset, a.length)];

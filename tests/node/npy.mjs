// npy.mjs: read NumPy .npy files (format 1.0/2.0, C order, little-endian
// <f4 <i4 <i8) into typed arrays: { dtype, shape, data }. Used by the ONNX
// export checks (check.mjs) and bench/onnx.mjs.
import { readFileSync } from 'node:fs';

const TYPES = { '<f4': Float32Array, '<i4': Int32Array, '<i8': BigInt64Array };

export function readNpy(path) {
  const buf = readFileSync(path);
  const magic = buf.subarray(0, 6).toString('latin1');
  if (magic !== '\x93NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.subarray(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined)
    throw new Error(`${path}: bad header ${header}`);
  if (fortran === 'True') throw new Error(`${path}: Fortran order not supported`);
  const Type = TYPES[descr];
  if (!Type) throw new Error(`${path}: dtype ${descr} not supported`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  if (buf.length - offset !== count * Type.BYTES_PER_ELEMENT)
    throw new Error(`${path}: ${buf.length - offset} data bytes, shape [${shape}] needs ${count * Type.BYTES_PER_ELEMENT}`);
  // copy into an aligned buffer (the file's data offset may not be aligned)
  const data = new Type(count);
  new Uint8Array(data.buffer).set(buf.subarray(offset));
  return { dtype: descr, shape, data };
}

/**
 * A small ONNX graph builder over onnx-proto: enough to write the models our tools train (linear algebra,
 * activations, ai.onnx.ml classifiers) and to read and rewrite a model for compression. No Python needed.
 */
import { onnx } from 'onnx-proto';

export const ELEM = onnx.TensorProto.DataType;
const ATTR = onnx.AttributeProto.AttributeType;

/** ONNX IR 8 and opset 15 are what onnx-proto 8 describes; every onnxruntime since 1.10 runs them. */
const IR_VERSION = 8;
const OPSET = 15;
const ML_OPSET = 2;

export type AttrValue = number | string | number[] | string[] | { int: number } | { ints: number[] };
export type Dim = number | string;

function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  if (typeof value === 'string') return { name, type: ATTR.STRING, s: Buffer.from(value) };
  if (typeof value === 'number') return { name, type: ATTR.FLOAT, f: value };
  if (Array.isArray(value)) {
    if (value.length > 0 && typeof value[0] === 'string') {
      return { name, type: ATTR.STRINGS, strings: (value as string[]).map((s) => Buffer.from(s)) };
    }
    return { name, type: ATTR.FLOATS, floats: value as number[] };
  }
  if ('int' in value) return { name, type: ATTR.INT, i: value.int };
  return { name, type: ATTR.INTS, ints: value.ints };
}

function valueInfo(name: string, elemType: number, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function floatTensor(name: string, data: ArrayLike<number>, dims: number[]): onnx.ITensorProto {
  const f = Float32Array.from(data as ArrayLike<number>);
  return { name, dims, dataType: ELEM.FLOAT, rawData: new Uint8Array(f.buffer) };
}

export function int8Tensor(name: string, data: Int8Array | Uint8Array, dims: number[]): onnx.ITensorProto {
  const type = data instanceof Int8Array ? ELEM.INT8 : ELEM.UINT8;
  return { name, dims, dataType: type, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export function int64Tensor(name: string, data: number[], dims: number[]): onnx.ITensorProto {
  const b = BigInt64Array.from(data.map((v) => BigInt(v)));
  return { name, dims, dataType: ELEM.INT64, rawData: new Uint8Array(b.buffer) };
}

/** The float values of an initializer, whichever field it was stored in. */
export function floatData(t: onnx.ITensorProto): Float32Array {
  if (t.rawData && t.rawData.length) {
    const copy = Uint8Array.from(t.rawData);
    return new Float32Array(copy.buffer);
  }
  return Float32Array.from(t.floatData ?? []);
}

export function dimsOf(t: onnx.ITensorProto): number[] {
  return (t.dims ?? []).map((d) => Number(d));
}

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private usesMl = false;
  private counter = 0;

  constructor(private readonly name: string) {}

  input(name: string, elemType: number, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: Dim[]): string {
    this.outputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  constant(name: string, data: ArrayLike<number>, dims: number[]): string {
    this.initializers.push(floatTensor(name, data, dims));
    return name;
  }

  initializer(t: onnx.ITensorProto): string {
    this.initializers.push(t);
    return t.name!;
  }

  /** Adds a node; returns its output names (fresh ones unless given). */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs?: string[] | number): string[] {
    const outs = Array.isArray(outputs)
      ? outputs
      : Array.from({ length: outputs ?? 1 }, () => `${opType.toLowerCase()}_${this.counter++}`);
    const domain = ML_OPS.has(opType) ? 'ai.onnx.ml' : '';
    if (domain) this.usesMl = true;
    this.nodes.push({
      opType, domain, input: inputs, output: outs, name: `${opType}_${this.counter++}`,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** One output convenience. */
  op1(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.op(opType, inputs, attrs, output ? [output] : 1)[0];
  }

  model(): onnx.IModelProto {
    const opsetImport: onnx.IOperatorSetIdProto[] = [{ domain: '', version: OPSET }];
    if (this.usesMl) opsetImport.push({ domain: 'ai.onnx.ml', version: ML_OPSET });
    return {
      irVersion: IR_VERSION,
      producerName: 'edge-intelligence-model-tools',
      producerVersion: '1',
      opsetImport,
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    };
  }

  encode(): Uint8Array {
    return encodeModel(this.model());
  }
}

const ML_OPS = new Set(['LinearClassifier', 'LinearRegressor', 'TreeEnsembleClassifier', 'TreeEnsembleRegressor', 'Normalizer', 'Scaler', 'ZipMap']);

export function encodeModel(model: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

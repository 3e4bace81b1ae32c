/**
 * edge-model (config): a named model and its on-disk store of versions (or a plain .onnx file), shared by every
 * edge-infer that runs it and by the model updater. Inference nodes follow its active version.
 */
import path from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { defaultStoreDir, FileModel, ModelHandle, ModelSettings, StoreModel, unusableModel } from '../core/models/model-binding';
import { isSafeName } from '../core/models/model-manifest';
import { ModelStore } from '../core/models/model-store';
import { toInt } from '../core/shared/fields';

interface ModelDef extends NodeDef {
  source: string;
  model: string;
  storeDir: string;
  file: string;
  pollInterval: string;
}

type EdgeModelNode = Node & { handle: ModelHandle };

export = function register(RED: NodeAPI): void {
  function EdgeModel(this: EdgeModelNode, def: ModelDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const t = (key: string, vars?: Record<string, unknown>) => RED._(`edge-model.${key}`, vars as Record<string, string>);
    const pollS = toInt(def.pollInterval, 2);
    const pollMs = Math.max(200, (Number.isFinite(pollS) ? pollS : 2) * 1000);
    if (def.source === 'file') {
      const file = (def.file ?? '').trim();
      node.handle = file ? new FileModel(path.resolve(file), pollMs) : unusableModel('', t('errors.file'));
    } else {
      const name = (def.model ?? '').trim();
      const dir = (def.storeDir ?? '').trim() || defaultStoreDir(RED.settings as unknown as ModelSettings);
      node.handle = isSafeName(name) ? new StoreModel(ModelStore.shared(dir), name, pollMs) : unusableModel(name, t('errors.name', { name }));
    }
    if (node.handle.problem) node.error(t('errors.config', { problem: node.handle.problem }));
  }

  RED.nodes.registerType('edge-model', EdgeModel);
};

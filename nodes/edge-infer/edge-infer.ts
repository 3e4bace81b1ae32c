/**
 * edge-infer: runs each message's payload through the ONNX model of an edge-model config node and sends the
 * result (raw tensors, a class, the top k, or an anomaly verdict) with msg.inference. Follows the model's active
 * version with a hot swap; a version that cannot serve is refused, reported and marked bad.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { DoneFn, guarded, nodeKit, SendFn } from '../kit/node-kit';
import { InferenceEngine, OutputError, SwapError } from '../core/inference/inference-engine';
import { ModelSource } from '../core/models/model-manifest';
import { engineOptions, InferSettings } from '../core/inference/infer-settings';
import { ModelHandle } from '../core/models/model-binding';
import { OverflowError } from '../core/inference/batch-scheduler';
import { ModelLoadError, SessionPool } from '../core/inference/session-pool';
import { errorBadge, shortText, STATUS_MAX } from '../core/shared/status';
import { errorText } from '../core/shared/errors';
import { InputError } from '../core/inference/tensor-map';
import { DriftReport, driftEvent } from '../core/monitoring/drift-monitor';
import type { ShadowObservation } from '../core/monitoring/shadow-gate';

interface InferDef extends NodeDef, InferSettings {
  model: string;
}

export = function register(RED: NodeAPI): void {
  // one pool per runtime: nodes on the same model share its session, and an updater hands over the one it checked
  const settings = RED.settings as unknown as { edgeIntelligenceIdleSessions?: number };
  const pool = SessionPool.shared(settings.edgeIntelligenceIdleSessions ?? 4);

  function EdgeInfer(this: Node, def: InferDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const kit = nodeKit(RED, node, 'edge-infer');
    const { t, status } = kit;
    const modelNode = RED.nodes.getNode(def.model) as (Node & { handle?: ModelHandle }) | null;
    const handle = modelNode?.handle;
    const { options, problems } = engineOptions(def);
    let problem: string | undefined;
    if (!handle) problem = t('errors.noModel');
    else if (handle.problem) problem = handle.problem;
    else if (problems.length) problem = problems.map((p) => t(`errors.${p}`)).join('; ');
    if (problem) kit.configError([problem]);
    const engine = problem ? undefined : new InferenceEngine(pool, options);
    let dropped = 0;
    let lastLatency = 0;
    /** the serving version's last drift level change */
    let drift: DriftReport | undefined;

    const serving = () => {
      const s = engine?.current;
      if (!s) return { fill: 'grey' as const, shape: 'ring' as const, text: t('status.noModel') };
      const id = `${s.name}@${s.version}`;
      const drifting = drift && drift.level !== 'ok' ? t(`status.${drift.level}`, { feature: drift.feature }) : '';
      const tail = dropped ? t('status.dropped', { count: dropped }) : drifting || (lastLatency ? `${lastLatency.toPrecision(2)} ms` : '');
      // both when they fit; else drops or drift (what the user must see) before the version, the version before latency
      const urgent = dropped > 0 || drift?.level === 'drift';
      const text = tail && id.length + tail.length + 3 <= STATUS_MAX ? `${id} · ${tail}` : urgent || drifting ? shortText(tail) : shortText(id);
      return { fill: urgent ? 'yellow' as const : 'green' as const, shape: 'dot' as const, text };
    };

    const load = (source: ModelSource | undefined) => {
      if (!engine) return;
      if (!source) {
        if (!engine.current) status.now({ fill: 'yellow', shape: 'ring', text: t('status.noVersion') });
        return;
      }
      if (source.warning) node.warn(t('errors.pointer', { problem: source.warning, version: source.version }));
      if (engine.current && engine.current.version === source.version && engine.current.file === source.file) return;
      status.now({ fill: 'yellow', shape: 'ring', text: shortText(t('status.loading', { version: source.version })) });
      engine.use(source).then(() => {
        node.log(t('log.serving', { model: source.name, version: source.version }));
        status.now(serving());
      }, (err: Error) => {
        const modelFault = err instanceof ModelLoadError || (err instanceof SwapError && err.modelFault);
        const kept = engine.current;
        node.error(kept
          ? t('errors.swapKept', { version: source.version, error: err.message, kept: kept.version })
          : t('errors.load', { version: source.version, error: err.message }));
        status.now(kept ? { fill: 'yellow', shape: 'dot', text: shortText(t('status.refused', { version: source.version })) }
          : errorBadge(t('status.loadFailed')));
        // the store then offers the previous good version, which every reader falls back to
        if (modelFault) handle!.reportBad(source.version, err.message);
      });
    };
    const unsubscribe = engine ? handle!.subscribe(load) : () => undefined;
    // a candidate an updater stages in shadow runs beside the served version; its counts go to the updater's gate
    const unshadow = engine ? handle!.subscribeShadow((candidate) => void engine.shadow(candidate)) : () => undefined;
    engine?.on('shadow-run', (source: ModelSource, o: ShadowObservation) => handle!.reportShadow(source.version, o));
    // each run is reported, so an updater can watch a new version's first runs and roll it back when they fail
    engine?.on('run', (source: ModelSource, ok: boolean, reason?: string) => handle!.reportRun(source.version, ok, reason));
    engine?.on('swapped', () => { drift = undefined; });
    engine?.on('watch-notes', (source: ModelSource, notes: string[]) => node.warn(t('errors.watch', { version: source.version, problems: notes.join('; ') })));
    // a change of drift level goes to the second output: to an alarm (flag rule on payload.drifting) and the uplink
    engine?.on('drift', function onDrift(source: ModelSource, report: DriftReport) {
      drift = report;
      node.send([null, driftEvent(source.name, source.version, report) as unknown as NodeMessage]);
      status.now(serving());
    });

    function onInput(msg: NodeMessageInFlow, send: SendFn, done: DoneFn): void {
      if (!engine) return kit.notConfigured(done);
      const m = msg as unknown as Record<string, unknown>;
      engine.infer(m.payload, m.features).then((r) => {
        m.payload = r.payload;
        // the drops so far ride along, so a dashboard charts them from the results alone
        m.inference = { ...r.inference, dropped };
        lastLatency = r.inference.latencyMs;
        send(m as unknown as NodeMessage);
        status.set(serving);
        done();
      }, (err: Error) => {
        if (err instanceof OverflowError && err.policy !== 'error') {
          // a drop chosen by the user's policy: counted and shown, not an error per message
          dropped++;
          status.set(serving);
          return done();
        }
        const badge = err instanceof OverflowError ? 'status.full' : err instanceof InputError ? 'status.badInput'
          : err instanceof OutputError ? 'status.notFinite' : 'status.runFailed';
        status.alert({ fill: 'red', shape: 'ring', text: shortText(t(badge)) });
        done(new Error(errorText(err)));
      });
    }

    function onClose(_removed: boolean, done: () => void): void {
      unsubscribe();
      unshadow();
      status.stop();
      (engine ? engine.close() : Promise.resolve()).then(() => done(), () => done());
    }

    node.on('input', guarded(kit, onInput));
    node.on('close', onClose);
  }

  RED.nodes.registerType('edge-infer', EdgeInfer);
};

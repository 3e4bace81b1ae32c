/**
 * The glue kit every node shares: Node-RED's send/done types, the translator, the status throttle bound to a
 * node, the reply to a message on a node that is not configured, and the per-message error path (done(err),
 * which reaches Catch nodes, plus a red status). Nothing here decides anything a core module could.
 */
import os from 'node:os';
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow } from 'node-red';
import { errorText, KeyedError } from '../core/shared/errors';
import { Problem, problemText, SettingsError } from '../core/shared/fields';
import { errorBadge, shortText, StatusBadge, StatusThrottle } from '../core/shared/status';

/** Node-RED's send: one message, or one per output (each a message, several, or none). */
export type SendFn = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
export type DoneFn = (err?: Error) => void;
export type Translate = (key: string, vars?: Record<string, unknown>) => string;

export interface NodeKit {
  t: Translate;
  status: StatusThrottle;
  /** an error's words: a KeyedError translated from `errors.<key>`, anything else its bounded message */
  describe(err: unknown): string;
  /** A message failed: done(err) with the words, and a red badge (throttled, so a flood cannot swamp the editor). */
  fail(done: DoneFn, err: unknown, badgeKey?: string): void;
  /** The configuration cannot work: logged at deploy with the reason and shown as "config error". */
  configError(problems: string[]): void;
  /** The reply to every message while the configuration cannot work. */
  notConfigured(done: DoneFn): void;
  /** Problems core named by message keys, in words. */
  words(problems: Problem[]): string[];
}

export type InputHandler<S = SendFn> = (msg: NodeMessageInFlow, send: S, done: DoneFn) => void;

/**
 * The input handler as Node-RED gets it: whatever the message holds (a getter that throws, a value no conversion
 * can read), nothing throws out of it. A throw before done() becomes done(err) and a red badge; a throw after it
 * adds nothing. done() is passed on as it is called, so a handler that called it twice would still show (the fuzz
 * tier counts the calls). Declared with exactly three parameters, as Node-RED counts them.
 */
export function guarded<S>(kit: Pick<NodeKit, 'fail'>, handler: InputHandler<S>): InputHandler<S> {
  return function onInput(msg: NodeMessageInFlow, send: S, done: DoneFn): void {
    let finished = false;
    const tracked: DoneFn = (err) => {
      finished = true;
      done(err);
    };
    try {
      handler(msg, send, tracked);
    } catch (err) {
      if (!finished) kit.fail(tracked, err, 'status.error');
    }
  };
}

/**
 * Whether anything is wired to output `index`: a report nobody reads is not made (Node-RED would still make an id
 * for a message sent nowhere).
 */
export function outputWired(def: object, index: number): boolean {
  return ((def as { wires?: unknown[][] }).wires?.[index]?.length ?? 0) > 0;
}

/** The node type's messages: `t('errors.config', {...})` reads `<type>.errors.config` from its locale. */
export function translator(RED: NodeAPI, type: string): Translate {
  return (key, vars) => RED._(`${type}.${key}`, vars as Record<string, string>);
}

/** Problems core named by message keys, in words; a problem may carry another as a value (an alarm, and what is wrong with it). */
export function problemWords(t: Translate, problems: Problem[]): string[] {
  return problems.map((p) => problemText(t, p));
}

export function nodeKit(RED: NodeAPI, node: Node, type: string): NodeKit {
  const t = translator(RED, type);
  const status = new StatusThrottle((b: StatusBadge) => node.status(b));
  const describe = (err: unknown) => (err instanceof KeyedError ? t(`errors.${err.key}`, err.vars)
    : err instanceof SettingsError ? problemWords(t, err.problems).join('; ') : errorText(err));
  return {
    t,
    status,
    describe,
    fail(done, err, badgeKey = 'status.error') {
      status.alert(errorBadge(shortText(t(badgeKey))));
      done(new Error(describe(err)));
    },
    configError(problems) {
      node.error(t('errors.config', { problems: problems.join('; ') }));
      status.now(errorBadge(t('status.config')));
    },
    notConfigured(done) {
      done(new Error(t('errors.notConfigured')));
    },
    words(problems) {
      return problemWords(t, problems);
    },
  };
}

/**
 * The gateway id when the setting is empty: the Node-RED instance's id (made once and kept in the user directory's
 * runtime config, so it survives restarts), or the host name where the runtime has none.
 */
export function instanceGatewayId(RED: NodeAPI): string {
  try {
    const id = (RED.settings as unknown as { get(key: string): unknown }).get('instanceId');
    if (typeof id === 'string' && id) return id;
  } catch {
    // settings not loaded from storage (an embedded runtime)
  }
  return os.hostname().replace(/[^A-Za-z0-9._:-]/g, '-') || 'gateway';
}

/**
 * Staged rollout across a fleet: a signed manifest may carry `rollout: {share}`, and a gateway takes the version
 * only when its position, a stable hash of its id and the model's name, falls under the share. A registry raises
 * the share step by step (0.05, 0.25, 1) and the same gateways stay in as it grows: the position never changes, so
 * every gateway that took a share of 0.05 is among those that take 0.25. The model's name is in the hash so that
 * the first gateways of one model's rollouts are not always the first of every model's.
 */
import crypto from 'node:crypto';

export interface Rollout {
  /** 0..1: the part of the fleet that takes this version */
  share: number;
}

/** The gateway's place in [0, 1) for a model: the first 32 bits of sha256("<gateway>/<model>"). */
export function rolloutPosition(gateway: string, model: string): number {
  return crypto.createHash('sha256').update(`${gateway}/${model}`).digest().readUInt32BE(0) / 2 ** 32;
}

/** Undefined when usable; the words of what is wrong otherwise (the manifest is then malformed). */
export function rolloutProblem(rollout: unknown): string | undefined {
  if (rollout === undefined) return undefined;
  const share = (rollout as Rollout | null)?.share;
  return typeof share === 'number' && share >= 0 && share <= 1 ? undefined : '"rollout.share" must be a number from 0 to 1';
}

/** Whether this gateway is in the rollout, and where it stands. A manifest without a rollout is for everyone. */
export function inRollout(rollout: Rollout | undefined, gateway: string, model: string): { taken: boolean; position: number } {
  const position = rolloutPosition(gateway, model);
  return { taken: !rollout || position < rollout.share, position };
}

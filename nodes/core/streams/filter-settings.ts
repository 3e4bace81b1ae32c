/**
 * edge-filter's settings from the editor's fields (strings): the filter's options, the value and stream-key paths,
 * and every problem named by a message key, so a bad setting is reported at deploy in the user's words.
 */
import { FilterOptions, validateFilter } from './filter';
import { optionalNumber, pick, Problem, toInt, toNumber } from '../shared/fields';
import { pathProblem } from '../shared/message';

export interface FilterDefinition {
  key?: string;
  property?: string;
  quality?: string;
  min?: string;
  max?: string;
  rangeAction?: string;
  outlier?: string;
  outlierWindow?: string;
  outlierThreshold?: string;
  stepAfter?: string;
  outlierResolution?: string;
  deadband?: string;
  deadbandValue?: string;
  deadbandCompare?: string;
  heartbeat?: string;
  rate?: string;
  rateInterval?: string;
  reportSuppressed?: boolean;
  maxStreams?: string;
}

export interface FilterSettings {
  filter: FilterOptions;
  /** where the value is read and written back */
  property: string;
  /** what tells the streams apart */
  key: string;
  maxStreams: number;
  /** values held back by deadband or rate limit also go to output 2 */
  reportSuppressed: boolean;
  problems: Problem[];
}

export function filterSettings(def: FilterDefinition): FilterSettings {
  const filter: FilterOptions = {
    quality: pick(def.quality, ['good', 'good-uncertain', 'all'] as const, 'good-uncertain'),
    min: optionalNumber(def.min),
    max: optionalNumber(def.max),
    rangeAction: pick(def.rangeAction, ['drop', 'clamp', 'mark-bad'] as const, 'drop'),
    outlier: pick(def.outlier, ['none', 'zscore', 'mad'] as const, 'none'),
    outlierWindow: toInt(def.outlierWindow, 30),
    outlierThreshold: toNumber(def.outlierThreshold, 4),
    stepAfter: toInt(def.stepAfter, 3),
    outlierResolution: toNumber(def.outlierResolution, 0),
    deadband: pick(def.deadband, ['none', 'absolute', 'percent'] as const, 'none'),
    deadbandValue: toNumber(def.deadbandValue, 0),
    deadbandCompare: def.deadbandCompare === 'input' ? 'input' : 'sent',
    heartbeatMs: toNumber(def.heartbeat, 0) * 1000,
    rate: pick(def.rate, ['none', 'first', 'latest', 'average'] as const, 'none'),
    rateMs: toNumber(def.rateInterval, 1) * 1000,
  };
  const property = (def.property || 'payload').trim();
  const key = (def.key || 'topic').trim();
  const problems: Problem[] = validateFilter(filter).map((k) => ({ key: k }));
  for (const path of [property, key]) {
    const problem = pathProblem(path);
    if (problem) problems.push({ key: 'path', vars: { path, problem } });
  }
  const maxStreams = toInt(def.maxStreams, 1000);
  if (!(maxStreams >= 1)) problems.push({ key: 'maxStreams' });
  return { filter, property, key, maxStreams, reportSuppressed: def.reportSuppressed === true, problems };
}

/** Where the nodes keep their state on disk. */
import path from 'node:path';

export interface StateSettings {
  userDir?: string;
  edgeIntelligenceStateDir?: string;
}

/** Where a node kind keeps its state: <edgeIntelligenceStateDir, else userDir/edge-intelligence>/<kind>. */
export function stateDir(settings: StateSettings, kind: string): string {
  return path.join(settings.edgeIntelligenceStateDir ?? path.join(settings.userDir ?? process.cwd(), 'edge-intelligence'), kind);
}

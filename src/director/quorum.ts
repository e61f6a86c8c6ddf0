/*
 * A virtual server's quorum with hysteresis, as keepalived 2.2.7 keeps it (check/ipwrapper.c
 * set_quorum_states, update_quorum_state, update_vs_notifies). Pure: the caller keeps the state
 * and runs the quorum_up / quorum_down scripts for the events returned.
 *
 * - At start the quorum is up when the live weight ≥ quorum + hysteresis.
 * - While up it is lost when the live weight is 0 or < quorum − hysteresis.
 * - While down it is gained when the live weight ≥ quorum + hysteresis.
 */

/** The settings that decide a virtual server's quorum (VirtualServer.quorum/hysteresis). */
export interface QuorumParams {
  readonly quorum: number;
  readonly hysteresis: number;
}

/** Whether a virtual server has its quorum. */
export interface QuorumState {
  readonly up: boolean;
}

/** A quorum change: the owner runs `quorum_up` / `quorum_down` (and notify FIFO, SMTP) for it. */
export interface QuorumEvent {
  readonly kind: 'quorum_up' | 'quorum_down';
  /** The virtual server (vsKey). */
  readonly vs: string;
  /** Logged once, shown in status: e.g. `lost quorum: live weight 1 < 3-1=2`. */
  readonly reason: string;
  /** At start (or for a virtual server new after a reload) rather than a change. */
  readonly init: boolean;
  /** At shutdown (omega). */
  readonly stopping: boolean;
  readonly weightSum: number;
  readonly threshold: number;
}

/** The result of one step: the new state and the event, when the state changed. */
export interface QuorumStep {
  readonly state: QuorumState;
  readonly event?: QuorumEvent;
}

/**
 * The quorum of a virtual server seen for the first time. As keepalived, only a start with the
 * quorum down and a sorry server to install is an event ("Starting with quorum down"); a start
 * with the quorum up runs no script.
 */
export function startQuorum(vs: string, p: QuorumParams, weightSum: number, hasSorry: boolean): QuorumStep {
  const threshold = p.quorum + p.hysteresis;
  const up = weightSum >= threshold;
  if (up || !hasSorry) return { state: { up } };
  return {
    state: { up },
    event: { kind: 'quorum_down', vs, reason: `starting with quorum down: live weight ${weightSum} < ${p.quorum}+${p.hysteresis}=${threshold}`, init: true, stopping: false, weightSum, threshold },
  };
}

/** One step of the hysteresis: gained at ≥ quorum + hysteresis, lost at 0 or < quorum − hysteresis. */
export function stepQuorum(vs: string, p: QuorumParams, prev: QuorumState, weightSum: number): QuorumStep {
  const threshold = p.quorum + (prev.up ? -p.hysteresis : p.hysteresis);
  if (!prev.up && weightSum >= threshold)
    return {
      state: { up: true },
      event: { kind: 'quorum_up', vs, reason: `gained quorum: live weight ${weightSum} ≥ ${p.quorum}+${p.hysteresis}=${threshold}`, init: false, stopping: false, weightSum, threshold },
    };
  if (prev.up && (weightSum === 0 || weightSum < threshold))
    return {
      state: { up: false },
      event: { kind: 'quorum_down', vs, reason: `lost quorum: live weight ${weightSum} < ${p.quorum}-${p.hysteresis}=${threshold}`, init: false, stopping: false, weightSum, threshold },
    };
  return { state: prev };
}

/**
 * At shutdown keepalived marks every virtual server's quorum down and runs `quorum_down` only
 * when `omega` is set: the event to deliver, or none.
 */
export function stopQuorum(vs: string, p: QuorumParams & { readonly omega: boolean }, weightSum: number): QuorumEvent | undefined {
  if (!p.omega) return undefined;
  const threshold = p.quorum - p.hysteresis;
  return { kind: 'quorum_down', vs, reason: 'shutting down (omega)', init: false, stopping: true, weightSum, threshold };
}

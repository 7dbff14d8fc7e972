/** The gate and silence activities the worker registers (each one short and bounded in time). */
import { runCommandGate } from './command';
import { readKubernetesGate } from './kubernetes';
import { queryPrometheusGate } from './prometheus';
import { createSilence, expireSilence, extendSilence } from './silences';

export const gateActivities = { runCommandGate, readKubernetesGate, queryPrometheusGate, createSilence, extendSilence, expireSilence };
export type GateActivities = typeof gateActivities;

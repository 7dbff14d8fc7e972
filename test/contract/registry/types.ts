/**
 * What each tool's registry provides to the corpus tests: the parsers a case can name (`parse.parser`)
 * and the named twin state changes a case can ask for (`twin.state`).
 */
import type { SimInfo } from '../../../src/simulator';
import type { ContractCase } from '../../helpers/contract';

/** Runs the product's parser(s) on a case's bytes and returns the extracted facts. */
export type CaseParser = (c: ContractCase) => unknown;

/** Applies one named state change to a twin; `arg` is the value given in the case. */
export type TwinState = (sim: SimInfo, arg: unknown) => void | Promise<void>;

export interface ToolRegistry {
  parsers: Record<string, CaseParser>;
  twinStates: Record<string, TwinState>;
}

/** The NetworkPolicy evaluator behind `netfence check` and `netfence explain`. */
export {
  buildEvaluator,
  effectivePolicyTypes,
  formatEndpoint,
  parseEndpoint,
  type ClusterModel,
  type Endpoint,
  type Evaluator,
  type PolicyRef,
  type SideVerdict,
  type Verdict,
} from './evaluator.js';

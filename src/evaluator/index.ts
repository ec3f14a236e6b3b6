/** The NetworkPolicy evaluator behind `netfence check` and `netfence explain`. */
export {
  buildEvaluator,
  effectivePolicyTypes,
  formatEndpoint,
  isSinglePodName,
  NODE_REASON,
  parseEndpoint,
  podAddresses,
  SELF_REASON,
  type ClusterModel,
  type Endpoint,
  type Evaluator,
  type Exemption,
  type PolicyRef,
  type SideVerdict,
  type Verdict,
} from './evaluator.js';

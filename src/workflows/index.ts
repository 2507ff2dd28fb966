export { campaignWorkflow } from './campaign';
export { connectivityCheckWorkflow } from './connectivity-check';

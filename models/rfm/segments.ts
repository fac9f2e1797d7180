// The RFM segment names sql/rfm/compute.sql assigns, best customers first. A module of its own so that
// segment rules and the API can name segments without importing the job that computes them.
export const RFM_SEGMENTS = [
  'Champions', 'Loyal', 'Potential Loyalist', 'New', 'Promising', 'Need Attention',
  'About to Sleep', 'At Risk', 'Cannot Lose Them', 'Hibernating', 'Lost',
] as const;

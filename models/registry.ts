// The model jobs cvm runs. The scheduler and `cvm models run` both take them from here.
import type { ModelJob } from './job.ts';
import { rfmJob } from './rfm/rfm.job.ts';
import { clvJob } from './clv/clv.job.ts';
import { churnJob } from './churn/churn.job.ts';
import { recsJob } from './recs/recs.job.ts';

export async function modelJobs(): Promise<ModelJob[]> {
  return [rfmJob, clvJob, churnJob, recsJob];
}

// The CLV model on one calibration summary: BG/NBD and Gamma-Gamma fitted (plainly where the data allows,
// penalised where it does not: robust-fit.ts), then every customer scored. Pure: the job feeds it from
// ClickHouse, the property tests from generated shops.
import type { RfmArrays } from './bgnbd.ts';
import { repeatBuyers } from './gamma-gamma.ts';
import { scoreCustomers, type CustomerScores, type DiscountSchedule } from './lifetime-value.ts';
import { fitBgNbdRobust, fitGammaGammaRobust, type RobustBgNbdFit, type RobustGammaGammaFit } from './robust-fit.ts';

export interface ClvFit {
  bg: RobustBgNbdFit;
  gg: RobustGammaGammaFit;
  /** 'penalised' when either model needed the penalty (or fell back to its prior). */
  fit: 'plain' | 'penalised';
  repeatBuyers: number;
  scores: CustomerScores;
}

export function fitAndScoreClv(d: RfmArrays & { zbar: Float64Array }, schedule: DiscountSchedule): ClvFit {
  const spenders = repeatBuyers(d.x, d.zbar);
  const bg = fitBgNbdRobust({ x: d.x, tx: d.tx, T: d.T });
  const gg = fitGammaGammaRobust(spenders);
  const fit = bg.fit.mode === 'plain' && gg.fit.mode === 'plain' ? 'plain' : 'penalised';
  return { bg, gg, fit, repeatBuyers: spenders.x.length, scores: scoreCustomers(bg.params, gg.params, d, schedule) };
}

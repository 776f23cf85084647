"""Report language: English and Simplified Chinese.

Sentences of the report are templates keyed by name; :func:`msg` fills them in the reader's language. Numbers are
formatted by the caller, so both languages show the same figures.
"""

from __future__ import annotations

from typing import Literal

from experiments.spec.literals import check_literal

Lang = Literal["en", "zh"]

MESSAGES: dict[str, dict[str, str]] = {
    # page chrome
    "generated": {"en": "generated", "zh": "生成于"},
    "in_short": {"en": "In short", "zh": "要点"},
    "alerts": {"en": "Trust checks that need attention before acting on these results:",
               "zh": "在依据这些结果采取行动之前，请先处理以下可信度检查："},
    "all_ok": {"en": "All trust checks passed.", "zh": "所有可信度检查均已通过。"},
    "what_this_means": {"en": "What this means", "zh": "结论"},
    "trust_checks": {"en": "Trust checks", "zh": "可信度检查"},
    "numbers": {"en": "Numbers", "zh": "数据"},
    "method_notes": {"en": "Method notes", "zh": "方法说明"},
    "english_only": {"en": "", "zh": "（本节内容暂仅提供英文。）"},
    # section titles by key
    "title.experiment": {"en": "Experiment {name}", "zh": "实验 {name}"},
    "title.survival": {"en": "Time to churn: tenure gained and lifetime value",
                       "zh": "流失时间：在网时长增益与客户终身价值"},
    "title.roi": {"en": "Return on each offer", "zh": "各项优惠的投资回报"},
    "title.promo": {"en": "Competitor promotion: effect on churn", "zh": "竞争对手促销对流失的影响"},
    "title.design": {"en": "Experiment design and assignment", "zh": "实验设计与分组"},
    "title.uplift": {"en": "Who should get which offer", "zh": "谁应获得哪项优惠"},
    # experiment
    "effect.improved": {"en": "{arm} improved {metric}", "zh": "{arm} 改善了 {metric}"},
    "effect.worse": {"en": "{arm} made {metric} worse", "zh": "{arm} 使 {metric} 变差"},
    "effect.none": {"en": "{arm}: no clear effect on {metric}", "zh": "{arm} 对 {metric} 没有明确影响"},
    "effect.binary": {"en": "{verdict}: {ctrl} → {arm} ({diff} points, 95% CI {lo} to {hi}; {p}).",
                      "zh": "{verdict}：{ctrl} → {arm}（{diff} 个百分点，95% 置信区间 {lo} 至 {hi}；{p}）。"},
    "effect.continuous": {"en": "{verdict}: {ctrl} → {arm} ({diff}, 95% CI {lo} to {hi}; {rel} relative; {p}).",
                          "zh": "{verdict}：{ctrl} → {arm}（{diff}，95% 置信区间 {lo} 至 {hi}；"
                                "相对变化 {rel}；{p}）。"},
    "p.adjusted": {"en": "{method}-adjusted p {p}", "zh": "{method} 校正后 p {p}"},
    "p.raw": {"en": "p {p}", "zh": "p {p}"},
    "guardrail.held": {"en": "Guardrail {metric} held for {arm}: worst plausible change {bound} against a {kind} "
                             "margin of {margin} (one-sided p {p}).",
                       "zh": "护栏指标 {metric} 对 {arm} 成立：最不利的合理变化为 {bound}，{kind}界限为 {margin}"
                             "（单侧 p {p}）。"},
    "guardrail.failed": {"en": "Guardrail {metric} was NOT shown to hold for {arm}: worst plausible change {bound} "
                               "against a {kind} margin of {margin} (one-sided p {p}).",
                         "zh": "护栏指标 {metric} 对 {arm} 未能证明成立：最不利的合理变化为 {bound}，{kind}界限为 "
                               "{margin}（单侧 p {p}）。"},
    "kind.relative": {"en": "relative", "zh": "相对"},
    "kind.absolute": {"en": "absolute", "zh": "绝对"},
    "check.srm": {"en": "Sample-ratio mismatch", "zh": "样本比例失衡（SRM）"},
    "srm.ok": {"en": "arm sizes match the design weights (χ² p = {p}).",
               "zh": "各组样本量与设计权重一致（χ² p = {p}）。"},
    "srm.fail": {"en": "arm sizes do not match the design weights (χ² = {stat}, p = {p} < {alpha}); the assignment or "
                       "the data pipeline lost units — do not trust the effects until this is explained.",
                 "zh": "各组样本量与设计权重不一致（χ² = {stat}，p = {p} < {alpha}）；分组或数据管道丢失了样本——"
                       "在查明原因之前不要相信效果估计。"},
    "srm.empty": {"en": "arm(s) {arms} have no units.", "zh": "组 {arms} 没有样本。"},
    "check.guardrail": {"en": "Guardrail {metric}", "zh": "护栏指标 {metric}"},
    "guardrail.check": {"en": "{arm}: not shown to stay within the margin ({bound} worst plausible change vs margin "
                              "{margin}).",
                        "zh": "{arm}：未能证明保持在界限之内（最不利的合理变化 {bound}，界限 {margin}）。"},
    "check.maturity": {"en": "Maturity of {metric}", "zh": "{metric} 的观察期"},
    "maturity": {"en": "{n} of {total} units ({share}) assigned after {cutoff} are not yet observable and were left "
                       "out.",
                 "zh": "{total} 个样本中有 {n} 个（{share}）在 {cutoff} 之后分组，尚未满观察期，已排除。"},
    # ROI
    "roi.pays": {"en": "pays for itself", "zh": "能够收回成本"},
    "roi.loses": {"en": "loses money", "zh": "亏损"},
    "roi.unclear": {"en": "has a net value that is not clearly different from zero", "zh": "净价值与零无明显差异"},
    "roi.line": {"en": "{arm} {verdict}: per subscriber offered it gains {value} in lifetime value and costs {cost} "
                       "(acceptance {acc}), net {net} (95% CI {lo} to {hi}){roi}; {retained} fewer churners per "
                       "1,000 offered.",
                 "zh": "{arm} {verdict}：每位获得优惠的用户带来 {value} 的终身价值，成本 {cost}（接受率 {acc}），净值 "
                       "{net}（95% 置信区间 {lo} 至 {hi}）{roi}；每 1,000 位用户减少流失 {retained} 人。"},
    "roi.roi": {"en": "; ROI {roi} (95% CI {lo} to {hi})", "zh": "；投资回报率 {roi}（95% 置信区间 {lo} 至 {hi}）"},
    "roi.none_pays": {"en": "No offer pays for itself when given to everyone eligible; target it (see the uplift "
                            "section) or lower its cost.",
                      "zh": "若向所有符合条件的用户发放，没有任何优惠能够收回成本；"
                            "请定向发放（见增量分析部分）或降低成本。"},
    "roi.best": {"en": "Best blanket offer by expected net value: {arm} ({net} per subscriber offered).",
                 "zh": "按期望净值计算，最佳的全面发放方案为：{arm}（每位用户 {net}）。"},
    "check.value": {"en": "Value of a retained subscriber", "zh": "留存用户的价值"},
    # shared
    "ci": {"en": "{v} (95% CI {lo} to {hi})", "zh": "{v}（95% 置信区间 {lo} 至 {hi}）"},
    "list.sep": {"en": ", ", "zh": "，"},
    "unit.days": {"en": "days", "zh": "天"},
    "unit.months": {"en": "months", "zh": "个月"},
    # survival (experiments/tenure.py)
    "surv.gains": {"en": "gains", "zh": "延长了在网时长"},
    "surv.loses": {"en": "loses", "zh": "缩短了在网时长"},
    "surv.none": {"en": "shows no clear change in", "zh": "对在网时长没有明确影响"},
    "surv.tenure": {"en": "{arm} {verdict} tenure against {ctrl}: {months} months per treated subscriber within the "
                          "first {h} months (95% CI {lo} to {hi}; p = {p}).",
                    "zh": "与 {ctrl} 相比，{arm} {verdict}：在前 {h} 个月内，每位受试用户的在网时长变化 {months} 个月"
                          "（95% 置信区间 {lo} 至 {hi}；p = {p}）。"},
    "surv.ltv": {"en": "Lifetime value over {h} months ({rate} discount, {margin} margin per month): {arm} is worth "
                       "{delta} per subscriber against {ctrl} (95% CI {lo} to {hi}).",
                 "zh": "{h} 个月的客户终身价值（LTV；年折现率 {rate}，每月毛利 {margin}）：与 {ctrl} 相比，{arm} "
                       "每位用户的价值变化为 {delta}（95% 置信区间 {lo} 至 {hi}）。"},
    "surv.window": {"en": "within {a} to {b} {unit} of contract expiry", "zh": "在合约到期前后 {a} 至 {b} {unit}内"},
    "surv.after": {"en": "after the contract has ended", "zh": "在合约结束之后"},
    "surv.contract": {"en": "Churn hazard is {hr} times as high {where} (95% CI {lo} to {hi}; time-varying Cox model).",
                      "zh": "{where}，流失风险是其他时期的 {hr} 倍（95% 置信区间 {lo} 至 {hi}；时变 Cox 模型）。"},
    "surv.logrank": {"en": "Survival differs between the groups with log-rank χ² = {stat} on {dof} df (p = {p}).",
                     "zh": "各组留存曲线的 log-rank 检验：χ² = {stat}，自由度 {dof}（p = {p}）。"},
    "check.ph": {"en": "Proportional hazards", "zh": "比例风险假定"},
    "ph.fail": {"en": "the hazard ratio of {cov} changes over time (scaled Schoenfeld test p = {p}); read hazard "
                      "ratios as averages over follow-up and rely on RMST differences.",
                "zh": "{cov} 的风险比随时间变化（标准化 Schoenfeld 残差检验 p = {p}）；"
                      "请把风险比理解为观察期内的平均值，并以 RMST 差值为准。"},
    "ph.ok": {"en": "no covariate's hazard ratio drifts over time (smallest p = {p}).",
              "zh": "没有协变量的风险比随时间漂移（最小 p = {p}）。"},
    "check.extrapolation": {"en": "Extrapolation beyond follow-up", "zh": "超出观察期的外推"},
    "extrap.family": {"en": "a parametric model", "zh": "参数模型"},
    "extrap.warn": {"en": "lifetime value extrapolates {mo} months beyond the observed follow-up (of its {h}-month "
                          "horizon; arm {arm}) with one {fam} family for all arms; the ΔLTV interval covers parameter "
                          "uncertainty only. {bias}",
                    "zh": "客户终身价值在已观察的随访期之外外推了 {mo} 个月（总期限 {h} 个月；组 {arm}），"
                          "所有组统一使用 {fam} 分布族；ΔLTV 的置信区间只反映参数不确定性。{bias}"},
    "extrap.bias": {"en": "On simulated data with a known truth (24 months from 6 months of follow-up) the estimate "
                          "was off by up to 21% of ΔLTV and its 95% interval missed the truth in 3 of 18 arm "
                          "comparisons: read it as indicative.",
                    "zh": "在真值已知的模拟数据上（由 6 个月随访外推 24 个月），估计值与真值的偏差最高达 ΔLTV 的 21%，"
                          "18 组比较中有 3 组的 95% 置信区间未覆盖真值：仅供参考。"},
    "extrap.ok": {"en": "lifetime value uses observed follow-up only (Kaplan–Meier).",
                  "zh": "客户终身价值仅使用已观察到的随访期（Kaplan–Meier）。"},
    # competitor promotion (experiments/promo.py)
    "promo.raised": {"en": "raised", "zh": "上升"},
    "promo.lowered": {"en": "lowered", "zh": "下降"},
    "promo.twfe": {"en": "two-way fixed effects", "zh": "双向固定效应"},
    "promo.cs": {"en": "Callaway–Sant'Anna staggered estimator", "zh": "Callaway–Sant'Anna 交错处理估计量"},
    "promo.effect": {"en": "The competitor's promotion {dir} monthly churn in the regions it ran in by {att} pp "
                           "({lvl}% CI {lo} pp to {hi} pp, {p}; {method}). ",
                     "zh": "双重差分估计：竞争对手促销使其投放地区的月流失率{dir}，变化 {att} 个百分点"
                           "（{lvl}% 置信区间 {lo} 至 {hi} 个百分点，{p}；{method}）。"},
    "promo.sig": {"en": "The interval excludes zero.", "zh": "置信区间不包含零。"},
    "promo.nosig": {"en": "The interval includes zero: no clear effect.", "zh": "置信区间包含零：没有明确影响。"},
    "promo.excess": {"en": "That is {excess} excess churners over {exposure} exposed subscriber-months ({lvl}% CI {lo} "
                           "to {hi}).",
                     "zh": "即在 {exposure} 个受影响的用户月中多流失 {excess} 人（{lvl}% 置信区间 {lo} 至 {hi}）。"},
    "promo.src_constant": {"en": "constant", "zh": "给定的固定值"},
    "promo.value": {"en": "Value lost: {v} ({lvl}% CI {lo} to {hi}; value per churner from {src}).",
                    "zh": "损失价值：{v}（{lvl}% 置信区间 {lo} 至 {hi}；每位流失用户的价值来源：{src}）。"},
    "check.pretrend": {"en": "Pre-trends", "zh": "平行趋势（事前趋势检验）"},
    "check.clusters": {"en": "Few clusters", "zh": "聚类数量"},
    "clusters.wild": {"en": "{n} clusters: inference uses the wild cluster bootstrap. {reason}",
                      "zh": "{n} 个聚类：推断采用 wild cluster bootstrap。{reason}"},
    "clusters.few": {"en": "Only {n} clusters and {se} standard errors: p-values may be too small; rerun with the wild "
                           "cluster bootstrap (--se wild).",
                     "zh": "仅有 {n} 个聚类且使用 {se} 标准误：p 值可能偏小；请改用 wild cluster bootstrap 重新运行"
                           "（--se wild）。"},
    "check.placebo_start": {"en": "Placebo start", "zh": "安慰剂起始时间检验"},
    "check.placebo_units": {"en": "Placebo units", "zh": "安慰剂地区检验"},
    "check.leave_one_unit_out": {"en": "Leave one unit out", "zh": "逐一剔除地区检验"},
    "check.randomization": {"en": "Randomization inference", "zh": "随机化推断"},
    "ri.agrees": {"en": " Agrees with the main test.", "zh": " 与主检验结论一致。"},
    "ri.disagrees": {"en": " Disagrees with the main test: read the effect with care.",
                     "zh": " 与主检验结论不一致：解读该效应时请谨慎。"},
    # uplift (experiments/uplift_report.py)
    "uplift.part": {"en": "{arm} to {share}", "zh": "向 {share} 的用户发放 {arm}"},
    "uplift.target": {"en": "Target the offers: give {parts} of subscribers, no offer to the other {rest}.",
                      "zh": "定向发放优惠：{parts}，其余 {rest} 的用户不发放。"},
    "uplift.none": {"en": "No offer is worth its cost for any subscriber at the given value of retention.",
                    "zh": "按设定的留存价值，任何优惠对任何用户都不值得其成本。"},
    "uplift.policy": {"en": "The targeted policy is worth {value} per subscriber against no offer ({unit}).",
                      "zh": "与不发放相比，定向策略每位用户的价值为 {value}；单位：{unit}。"},
    "uplift.no_one": {"en": "no one", "zh": "都不发放"},
    "uplift.everyone": {"en": "everyone gets {arm}", "zh": "全部发放 {arm}"},
    "uplift.best": {"en": "The best single choice for everyone is '{label}' at {value}; random assignment gives "
                          "{random}.",
                    "zh": "若所有用户采用同一方案，最佳选择是“{label}”，价值 {value}；随机分配的价值为 {random}。"},
    "uplift.tree": {"en": "A {n}-rule policy tree keeps {value} per subscriber and agrees with the full policy for "
                          "{agree} of subscribers.",
                    "zh": "含 {n} 条规则的策略树保留的每位用户价值为 {value}，对 {agree} 的用户与完整策略的建议一致。"},
    "uplift.unit_value": {"en": "net value per subscriber (currency of the design's value and costs)",
                          "zh": "每位用户的净价值，币种与设计中的价值和成本相同"},
    "uplift.unit_metric": {"en": "{metric} per subscriber (no value section: costs are not subtracted)",
                           "zh": "每位用户的 {metric} 改善（设计中没有价值部分：未扣除成本）"},
    "uplift.het_yes": {"en": "the model finds real differences between subscribers",
                       "zh": "模型发现用户之间的增量 (uplift) 确有差异"},
    "uplift.het_no": {"en": "no reliable difference between subscribers was found",
                      "zh": "未发现用户之间存在可靠的增量 (uplift) 差异"},
    "uplift.arm": {"en": "{arm}: average effect on {metric} {value}; {het} (BLP slope {b} ± {se}, p = {p}).",
                   "zh": "{arm}：对 {metric} 的平均效应为 {value}；{het}（BLP 斜率 {b} ± {se}，p = {p}）。"},
    "check.overlap": {"en": "Overlap / propensities", "zh": "重叠性 / 倾向得分"},
    "overlap": {"en": "Propensities are the design's arm weights (known by randomisation), smallest {min}; no "
                      "subscriber lacks comparable units in another arm.",
                "zh": "倾向得分即设计中的分组权重（随机化下已知），最小为 {min}；每位用户在其他组中都有可比的样本。"},
    "check.refutations": {"en": "Refutations ({arm})", "zh": "反驳检验（{arm}）"},
    "refute.passed": {"en": "All refuters passed on {n} rows: ", "zh": "全部反驳检验在 {n} 行数据上通过："},
    "refute.failed": {"en": "Failed: {names}. ", "zh": "未通过：{names}。"},
    "refute.detail": {"en": "{name}: new effect {effect} (p = {p})", "zh": "{name}：新效应 {effect}（p = {p}）"},
    "refute.sep": {"en": "; ", "zh": "；"},
    # design, assignment and monitoring (experiments/design_report.py)
    "design.arm_n": {"en": "{arm}: {n}", "zh": "{arm}：{n}"},
    "design.size": {"en": "{total} subscribers ({arms}) detect a change of {delta} from {base} with {power} power per "
                          "comparison{days}.",
                    "zh": "共需 {total} 名用户（{arms}）：在基线 {base} 上，每次比较能以 {power} 的检验功效"
                          "检测出 {delta} 的变化{days}。"},
    "design.days": {"en": ", in {days} days of eligible inflow", "zh": "，按合格用户的流入速度需 {days} 天"},
    "check.population": {"en": "Eligible population", "zh": "符合条件的用户数"},
    "population": {"en": "{population} eligible for {total} needed.",
                   "zh": "符合条件的用户 {population} 名，所需 {total} 名。"},
    "design.assigned": {"en": "{units} subscribers assigned ({counts}) with salt {salt}, design hash {hash}.",
                        "zh": "已为 {units} 名用户分组（{counts}），盐值 {salt}，设计哈希 {hash}。"},
    "check.balance": {"en": "Covariate balance", "zh": "协变量平衡"},
    "balance.ok": {"en": "All |SMD| ≤ 0.1.", "zh": "所有 |SMD| ≤ 0.1。"},
    "balance.warn": {"en": "{n} covariate/arm pairs with |SMD| > 0.1 (largest {max}).",
                     "zh": "有 {n} 个协变量与组的组合 |SMD| > 0.1（最大 {max}）。"},
    "check.assignment_ratio": {"en": "Assignment ratio", "zh": "分组比例"},
    "assignment_ratio": {"en": "SRM p-value of the assignment {p}; largest stratum deviation {dev} units.",
                         "zh": "分组的 SRM p 值为 {p}；各分层中最大偏差为 {dev} 个样本。"},
    # monitoring decisions (English text is MonitorResult.message, written by experiments/monitor.py)
    "monitor.look": {"en": "{arm} ({est}, always-valid interval [{lo}, {hi}])",
                     "zh": "{arm}（{est}，始终有效区间 [{lo}, {hi}]）"},
    "monitor.stop_effect": {"en": "May stop: {arms} beats control on the primary metric; the interval stays valid "
                                  "however often you looked.",
                            "zh": "可以停止：{arms}在主要指标上优于对照组；无论中途查看多少次，始终有效区间都成立。"},
    "monitor.stop_harm": {"en": "May stop: {arms} is worse than control on the primary metric.",
                          "zh": "可以停止：{arms}在主要指标上比对照组差。"},
    "monitor.planned_size_reached": {"en": "May stop: the planned {planned} units are reached ({n}) and no interval "
                                           "excludes zero: no effect of the planned size was found.",
                                     "zh": "可以停止：已达到计划的 {planned} 个样本（当前 {n} 个），且没有区间排除零："
                                           "未发现达到计划规模的效果。"},
    "monitor.continue": {"en": "Continue: {n} units so far{more}; every always-valid interval still includes zero.",
                         "zh": "继续：目前已有 {n} 个样本{more}；所有始终有效区间仍包含零。"},
    "monitor.more": {"en": " of the planned {planned}", "zh": "（计划 {planned} 个）"},
    "monitor.srm": {"en": "Do not decide: the arm counts do not match the weights (SRM p = {p}); find the assignment "
                          "or logging problem first.",
                    "zh": "暂不做决定：各组样本量与设计权重不一致（SRM p = {p}）；请先查明分组或日志记录问题。"},
    # diagnosis: profile, segments, cockpit (experiments/diagnosis)
    "title.diagnosis": {"en": "Churn diagnosis", "zh": "流失诊断"},
    "diag.overall": {"en": "{rate} of {n} subscribers churned ({k}; 95% CI {lo} to {hi}).",
                     "zh": "{n} 名用户中 {rate} 流失（{k} 名；95% 置信区间 {lo} 至 {hi}）。"},
    "diag.revenue": {"en": "Revenue at risk: {risk} of {total} ({share}) comes from subscribers who churned.",
                     "zh": "风险收入：{total} 中有 {risk}（{share}）来自已流失用户。"},
    "diag.assoc": {"en": "Strongest associations with churn: {items}.", "zh": "与流失关联最强的因素：{items}。"},
    "diag.threshold": {"en": "{col}: churn is {below} below {cut} and {above} at {cut} or more, the largest "
                             "change at any cut (χ² {stat}, adjusted p {p}).",
                       "zh": "{col}：低于 {cut} 时流失率为 {below}，达到或超过 {cut} 时为 {above}，"
                             "是所有切分点中变化最大的（χ² {stat}，校正后 p {p}）。"},
    "diag.highest": {"en": "Highest churn: {col} = {level}, {rate} ({k} of {n}).",
                     "zh": "流失率最高：{col} = {level}，{rate}（{n} 名中 {k} 名）。"},
    "diag.blank": {"en": "{col}: {count} blank value(s) counted as missing and reported, not dropped.",
                   "zh": "{col}：{count} 个空白值计为缺失并已报告，未被删除。"},
    "diag.check.quality": {"en": "Missing and blank values", "zh": "缺失值与空白值"},
    "diag.quality.ok": {"en": "no missing or blank values in the profiled columns.",
                        "zh": "所分析的列中没有缺失值或空白值。"},
    "diag.quality.found": {"en": "{items}; each is profiled as the level '(missing)'.",
                           "zh": "{items}；均作为“(missing)”水平单独统计。"},
    "diag.predictive": {"en": "These are descriptive associations, not causes: test an offer in an experiment before "
                              "acting on them.",
                        "zh": "以上为描述性关联而非因果：据此行动前，请先通过实验检验挽留方案。"},
    "diag.tab.levels": {"en": "Churn by level, with 95% Wilson intervals", "zh": "各水平流失率（95% Wilson 区间）"},
    "diag.tab.thresholds": {"en": "Thresholds where churn changes most", "zh": "流失率变化最大的阈值"},
    "diag.tab.assoc": {"en": "Association of each column with churn", "zh": "各列与流失的关联"},
    "diag.tab.cross": {"en": "Two-way table {a} × {b} (interaction G² {g2}, p {p})",
                       "zh": "{a} × {b} 交叉表（交互作用 G² {g2}，p {p}）"},
    "diag.fig.rate": {"en": "Churn rate by {col}", "zh": "按 {col} 的流失率"},
    "diag.col.column": {"en": "column", "zh": "列"},
    "diag.col.level": {"en": "level", "zh": "水平"},
    "diag.col.subscribers": {"en": "subscribers", "zh": "用户数"},
    "diag.col.churned": {"en": "churned", "zh": "流失数"},
    "diag.col.rate": {"en": "churn rate", "zh": "流失率"},
    "diag.col.ci": {"en": "95% CI", "zh": "95% 置信区间"},
    "diag.col.association": {"en": "association", "zh": "关联强度"},
    "diag.col.method": {"en": "method", "zh": "方法"},
    "diag.col.cut": {"en": "cut", "zh": "阈值"},
    "diag.col.below": {"en": "churn below", "zh": "阈值以下流失率"},
    "diag.col.above": {"en": "churn at or above", "zh": "阈值及以上流失率"},
    "diag.col.p": {"en": "adjusted p", "zh": "校正后 p"},
    "diag.method.point_biserial": {"en": "point-biserial r", "zh": "点二列相关系数"},
    "diag.method.cramers_v": {"en": "Cramér's V", "zh": "Cramér's V"},
    # cockpit
    "cockpit.title": {"en": "Churn cockpit", "zh": "流失管理驾驶舱"},
    "cockpit.subscribers": {"en": "Subscribers", "zh": "用户数"},
    "cockpit.churn_rate": {"en": "Churn rate", "zh": "流失率"},
    "cockpit.churned": {"en": "Churned", "zh": "流失用户"},
    "cockpit.revenue_at_risk": {"en": "Revenue at risk", "zh": "风险收入"},
    "cockpit.filters": {"en": "Filters", "zh": "筛选"},
    "cockpit.all": {"en": "All", "zh": "全部"},
    "cockpit.reset": {"en": "Clear filters", "zh": "清除筛选"},
    "cockpit.by": {"en": "Churn by {col}", "zh": "按 {col} 的流失率"},
    "cockpit.segments": {"en": "Segments", "zh": "用户分群"},
    "cockpit.segment": {"en": "segment", "zh": "分群"},
    "cockpit.risk": {"en": "risk", "zh": "风险等级"},
    "cockpit.action": {"en": "recommended action", "zh": "建议措施"},
    "cockpit.thresholds": {"en": "Thresholds", "zh": "阈值"},
    "cockpit.click_hint": {"en": "Click a bar or a segment row to filter every chart and tile; click again to clear.",
                           "zh": "点击柱形或分群行即可筛选所有图表和指标卡；再次点击取消。"},
    "cockpit.suppressed": {"en": "Small-cell suppression: {n} subscriber(s) in combinations with fewer than {k} "
                                 "subscribers are counted without the levels that would single them out (they are "
                                 "left out of a filter on a hidden column); {gone} left out entirely.",
                           "zh": "小单元格抑制：组合人数少于 {k} 的 {n} 名用户在统计时隐藏了可能识别出他们的维度水平"
                                 "（按被隐藏的维度筛选时不计入）；{gone} 名用户完全未计入。"},
    "cockpit.no_rows": {"en": "Built from aggregate counts only: no subscriber rows or ids are in this file.",
                        "zh": "仅基于汇总计数生成：本文件不含任何用户明细或编号。"},
    "cockpit.empty": {"en": "No subscribers match these filters.", "zh": "没有符合筛选条件的用户。"},
    "cockpit.drivers": {"en": "Top drivers (association with churn)", "zh": "主要驱动因素（与流失的关联）"},
    "title.breakdown": {"en": "Effects by {column}", "zh": "按 {column} 分组的效果"},
    "breakdown.line": {"en": "{segment}, {arm}: {ctrl} → {mean} ({diff} points, 95% CI {lo} to {hi}; Holm p {p}).",
                       "zh": "{segment}，{arm}：{ctrl} → {mean}（{diff} 个百分点，95% 置信区间 {lo} 至 {hi}；"
                             "Holm 校正 p {p}）。"},
    "breakdown.caution": {"en": "Segment effects are exploratory: the experiment was sized for the whole population.",
                          "zh": "分群效果仅供探索：实验的样本量是按整体人群设计的。"},
    "breakdown.table": {"en": "Each arm against control, per segment", "zh": "各分群内各组与对照组的比较"},
    # churn diagnosis: labels, reasons, causal check of one driver (experiments/diagnosis)
    "driver.effect": {"en": "{driver} changes the churn probability by {effect} points ({level}% CI {lo} to {hi}), "
                            "adjusting for {confounders}; the unadjusted difference is {naive} points.",
                      "zh": "{driver} 使流失概率变化 {effect} 个百分点（{level}% 置信区间 {lo} 至 {hi}），已调整 "
                            "{confounders}；未经调整的差异为 {naive} 个百分点。"},
    "driver.rests_on_graph": {"en": "This estimate rests on the stated graph: it assumes that {confounders} are all "
                                    "the common causes of {driver} and churn. A common cause left out of the graph "
                                    "(unmeasured, or not listed) would bias it, and no refuter can detect that.",
                              "zh": "该估计依赖于所声明的因果图：它假设 {confounders} 是 {driver} 与流失的全部共同原因。"
                                    "图中遗漏的共同原因（未测量或未列出）会使估计产生偏差，而任何反驳检验都无法发现这一点。"},
    "driver.placebo_treatment.pass": {"en": "Placebo treatment (the driver shuffled at random): the effect vanished "
                                            "({new} points), as it must.",
                                      "zh": "安慰剂处理（随机打乱驱动因素）：效应消失（{new} 个百分点），符合预期。"},
    "driver.placebo_treatment.fail": {"en": "Placebo treatment FAILED: with the driver shuffled at random the effect "
                                            "did not vanish ({new} points, p {p}); the estimate picks up something "
                                            "other than the driver. Do not trust it.",
                                      "zh": "安慰剂处理未通过：随机打乱驱动因素后效应并未消失（{new} 个百分点，p {p}）；"
                                            "估计捕捉到的并非驱动因素本身。不要相信该估计。"},
    "driver.random_common_cause.pass": {"en": "Random common cause: adding an independent random confounder left the "
                                              "estimate where it was ({new} points).",
                                        "zh": "随机共同原因：加入一个独立的随机混杂变量后估计保持不变（{new} 个百分点）。"},
    "driver.random_common_cause.fail": {"en": "Random common cause FAILED: an independent random confounder moved the "
                                              "estimate ({new} points, p {p}); the estimate is unstable. Do not trust "
                                              "it.",
                                        "zh": "随机共同原因未通过：一个独立的随机混杂变量改变了估计（{new} 个百分点，p {p}）；"
                                              "估计不稳定。不要相信该估计。"},
    "driver.data_subset.pass": {"en": "Data subsets: re-estimated on random subsets the effect stayed consistent "
                                      "({new} points on average).",
                                "zh": "数据子集：在随机子集上重新估计，效应保持一致（平均 {new} 个百分点）。"},
    "driver.data_subset.fail": {"en": "Data subsets FAILED: on random subsets the effect was {new} points on average "
                                      "(p {p}), inconsistent with the full data; it depends on a few rows. Do not "
                                      "trust it.",
                                "zh": "数据子集未通过：在随机子集上效应平均为 {new} 个百分点（p {p}），与全部数据不一致；"
                                      "估计依赖于少数样本。不要相信该估计。"},
    "driver.refuters_meaning": {"en": "A refuter that passes does not prove the effect causal; a refuter that fails "
                                      "shows that the estimate cannot be trusted as it stands (check the graph, the "
                                      "data and the model).",
                                "zh": "反驳检验通过并不能证明效应是因果的；反驳检验未通过则说明该估计目前不可信"
                                      "（请检查因果图、数据和模型）。"},
    "labels.written": {"en": "Labelled {n} subscribers by rule {rule}: {churned} churned ({rate}).",
                       "zh": "按规则 {rule} 标注了 {n} 位用户：{churned} 位流失（{rate}）。"},
    "labels.leak": {"en": "Columns that define or leak the label, and the id, snapshot and split columns (not "
                          "features; listed in the file's metadata): {columns}.",
                    "zh": "定义或泄露标签的列，以及编号、快照和划分列（均不是特征，已写入文件元数据）：{columns}。"},
    "reasons.line": {"en": "{reason}: {texts} texts ({share}){churn}.", "zh": "{reason}：{texts} 条文本（{share}）{churn}。"},
    "reasons.churn": {"en": ", churn rate {rate}, {share} of churners", "zh": "，流失率 {rate}，占流失用户 {share}"},
    "reasons.topic": {"en": "Topic the catalogue misses ({n} texts): {words}",
                      "zh": "关键词目录未覆盖的主题（{n} 条文本）：{words}"},
    # early warning: retention predict (experiments/diagnosis/predict_section.py)
    "title.predict": {"en": "Early warning: who churns next", "zh": "流失预警：谁将流失"},
    "diag.predict.best": {"en": "Best model by Recall@{k}: {model}, cross-validated ROC AUC {auc} (CI across {folds} "
                                "folds {lo} to {hi}), PR AUC {pr}.",
                          "zh": "按 Recall@{k} 选出的最佳模型：{model}，交叉验证 ROC AUC {auc}（{folds} 折间区间 {lo} 至 "
                                "{hi}），PR AUC {pr}。"},
    "diag.predict.recall": {"en": "Contacting the top {k} ({count} subscribers) reaches {recall} of the churners "
                                  "(precision {precision}, lift {lift}); at most {max} is possible at this K.",
                            "zh": "联系得分最高的 {k}（{count} 位用户）可覆盖 {recall} 的流失用户（精确率 {precision}，"
                                  "提升度 {lift}）；该 K 下最多可覆盖 {max}。"},
    "diag.predict.smote": {"en": "{model}: SMOTE instead of class weights changes ROC AUC by {auc} and Recall@K by "
                                 "{recall} (mean across folds).",
                           "zh": "{model}：用 SMOTE 代替类别权重，ROC AUC 变化 {auc}，Recall@K 变化 {recall}（各折平均）。"},
    "diag.predict.dropped": {"en": "Not used as features (leakage guard and types): {items}.",
                             "zh": "未用作特征的列（泄漏防护与类型检查）：{items}。"},
    "diag.predict.coerced": {"en": "Text columns read as numbers, blank values made missing: {items}.",
                             "zh": "按数值读取的文本列，空白值视为缺失：{items}。"},
    "diag.predict.risk": {"en": "On the same {n} subscribers, Recall@{k}: survival risk score {risk}, classifier "
                                "{clf} (at most {max}).",
                          "zh": "在同样的 {n} 位用户上，Recall@{k}：生存风险评分 {risk}，分类器 {clf}（最多 {max}）。"},
    "diag.predict.drivers": {"en": "Strongest drivers of the score (predictive, not causal): {items}.",
                             "zh": "得分的主要驱动因素（仅具预测性，不代表因果）：{items}。"},
    "diag.predict.not_causal": {"en": "Drivers are predictive, not causal: they say what the model uses, not what an "
                                      "offer would change; test a driver with retention driver-effect or an "
                                      "experiment.",
                                "zh": "驱动因素仅具预测性，不代表因果：它们说明模型依据什么，而不是优惠能改变什么；"
                                      "请用 retention driver-effect 或实验检验驱动因素。"},
    "diag.predict.tab.models": {"en": "Model comparison (mean across folds, interval across folds)",
                                "zh": "模型比较（各折平均值及各折间区间）"},
    "diag.predict.tab.drivers": {"en": "Drivers: mean |SHAP| of {model} (predictive, not causal)",
                                 "zh": "驱动因素：{model} 的平均 |SHAP|（仅具预测性，不代表因果）"},
    "diag.predict.tab.dropped": {"en": "Columns left out of the features", "zh": "未纳入特征的列"},
    "diag.predict.tab.risk": {"en": "Survival risk score vs classifier on the same subscribers",
                              "zh": "同一批用户上生存风险评分与分类器的比较"},
    "diag.predict.fig.gains": {"en": "Cumulative gains (out-of-fold)", "zh": "累积增益（折外预测）"},
    "diag.predict.fig.lift": {"en": "Lift (out-of-fold)", "zh": "提升度（折外预测）"},
    "diag.predict.fig.calibration": {"en": "Calibration (out-of-fold, 10 equal-count bins)",
                                     "zh": "校准（折外预测，10 个等量分箱）"},
    "diag.predict.fig.importance": {"en": "Global drivers of {model}: mean |SHAP| (predictive, not causal)",
                                    "zh": "{model} 的全局驱动因素：平均 |SHAP|（仅具预测性，不代表因果）"},
    "diag.predict.fig.beeswarm": {"en": "Per-subscriber SHAP values of {model} (predictive, not causal)",
                                  "zh": "{model} 每位用户的 SHAP 值（仅具预测性，不代表因果）"},
    "diag.predict.fig.risk": {"en": "Recall@{k}: survival risk score vs classifier", "zh": "Recall@{k}：生存风险评分与分类器"},
    "diag.predict.perfect": {"en": "perfect ranking", "zh": "完美排序"},
    "diag.predict.random": {"en": "random", "zh": "随机"},
    "diag.predict.ideal": {"en": "ideal", "zh": "理想"},
    "diag.predict.contacted": {"en": "share of subscribers contacted", "zh": "联系的用户比例"},
    "diag.predict.captured": {"en": "share of churners reached", "zh": "覆盖的流失用户比例"},
    "diag.predict.predicted": {"en": "predicted probability", "zh": "预测概率"},
    "diag.predict.observed": {"en": "observed churn rate", "zh": "实际流失率"},
    "diag.predict.value_rank": {"en": "value rank", "zh": "取值排名"},
    "diag.predict.max_recall": {"en": "maximum possible", "zh": "最大可能值"},
    "diag.predict.check.calibration": {"en": "Calibration", "zh": "校准"},
    "diag.predict.calibration.ok": {"en": "expected calibration error of {model}: {ece}.",
                                    "zh": "{model} 的期望校准误差：{ece}。"},
    "diag.predict.calibration.warn": {"en": "expected calibration error of {model} is {ece} (above 0.05): read the "
                                            "probabilities as a ranking.",
                                      "zh": "{model} 的期望校准误差为 {ece}（高于 0.05）：请把概率仅当作排序使用。"},
}


#: Region subtags of Chinese written in Traditional characters (unless the tag names the Hans script).
_TRADITIONAL_REGIONS = {"tw", "hk", "mo"}
ACCEPTED_LANG_FORMS = ("en-US", "en-GB", "zh-CN", "zh-Hans", "zh_CN", "zh-SG")


def parse_lang(value: str, flag: str = "--lang") -> Lang:
    """A language tag as users type it (BCP 47, ``_`` or ``-``, any case) mapped to a report language.

    English (``en`` with any region or script: ``en-US``, ``en-GB``, ``EN_us``) is ``en``; Chinese in Simplified
    characters (``zh``, ``zh-CN``, ``zh-Hans``, ``zh_CN``, ``zh-SG``, ``zh-Hans-HK``) is ``zh``. Traditional Chinese
    (``zh-TW``, ``zh-HK``, ``zh-MO``, ``zh-Hant``) is refused rather than silently shown in Simplified characters.

    Raises
    ------
    DesignError
        Any other language, or a tag that is not a language tag; the message lists the accepted forms.

    Examples
    --------
    >>> parse_lang("zh-CN"), parse_lang("en_GB"), parse_lang("ZH-hans")
    ('zh', 'en', 'zh')
    """
    from experiments.errors import DesignError

    text = str(value).strip()
    parts = text.replace("_", "-").lower().split("-")
    forms = ", ".join(ACCEPTED_LANG_FORMS)
    well_formed = all(p.isascii() and p.isalnum() and 1 <= len(p) <= 8 for p in parts)
    if well_formed and parts[0] == "en":
        return "en"
    if well_formed and parts[0] == "zh":
        subtags = set(parts[1:])
        if "hant" in subtags or (subtags & _TRADITIONAL_REGIONS and "hans" not in subtags):
            raise DesignError(f"{flag}: {text!r} asks for Traditional Chinese, which the reports do not have; use "
                              "--lang zh for Simplified Chinese (zh-CN, zh-Hans) or --lang en")
        return "zh"
    raise DesignError(f"{flag}: {text!r} is not allowed: the reports are in English or Simplified Chinese; use one "
                      f"of 'en', 'zh', also as a language tag in any case with - or _: {forms}")


def msg(key: str, lang: Lang = "en", **values: object) -> str:
    """The message ``key`` in ``lang`` with ``values`` filled in.

    Examples
    --------
    >>> msg("effect.improved", "zh", arm="flow_pack", metric="churn_90d")
    'flow_pack 改善了 churn_90d'
    """
    check_literal(lang, Lang, "lang")
    return MESSAGES[key][lang].format(**values)

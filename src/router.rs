//! Deployment selection as litellm's Router does it for `simple-shuffle` and `least-busy`,
//! bit for bit, and the candidates its other strategies choose among.
//!
//! The host resolves a router's model groups once (which deployments, their weights and
//! order) and the component keeps them; a selection is then one call with the group, the
//! positions of the group's deployments cooling down, and the random draw.
//!
//! litellm's pick (router_strategy/simple_shuffle.py): after the cooldown filter, keep the
//! lowest `order`; then the first of `weight`, `rpm`, `tpm` whose largest value is > 0
//! weighs the pick: `random.choices(deployments, weights=[w / largest])`, which is
//! `bisect_right(cumulative, random() * total, 0, n - 1)`; with no such metric,
//! `random.choice(deployments)`, which is `deployments[randbelow(n)]`. The host draws from
//! Python's own generator, so a seeded `random` gives the same picks with or without us.

/// One deployment of a group, as the host read it from litellm's model list.
#[derive(Clone, Debug, PartialEq)]
pub struct Deployment {
    /// position in the Router's `model_list`: what the host returns
    pub index: u32,
    /// `weight`, `rpm`, `tpm` as litellm reads them (`float(value)`, 0.0 when absent)
    pub weights: [f64; 3],
    /// `order` from litellm_params, else model_info; None when neither sets it
    pub order: Option<i64>,
}

/// What a selection needs from the host's random generator, for the candidates left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Draw {
    /// no candidate: litellm raises its no-deployments error (the host hands over)
    Nothing,
    /// a weighted pick: one `random()`
    Weighted,
    /// `random.choice` among this many: one `randbelow(n)`
    Uniform(u32),
}

#[derive(Debug, Default)]
pub struct Router {
    groups: Vec<Vec<Deployment>>,
}

impl Router {
    pub fn new(groups: Vec<Vec<Deployment>>) -> Self {
        Self { groups }
    }

    /// Groups as JSON: `[[[index, weight, rpm, tpm, order or null], ...], ...]`.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let raw: Vec<Vec<(u32, f64, f64, f64, Option<i64>)>> =
            serde_json::from_str(text).map_err(|e| format!("bad router groups: {e}"))?;
        let mut groups = Vec::with_capacity(raw.len());
        for group in raw {
            let mut deployments = Vec::with_capacity(group.len());
            for (index, weight, rpm, tpm, order) in group {
                let weights = [weight, rpm, tpm];
                if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
                    return Err(format!("deployment {index}: weights must be finite and >= 0"));
                }
                deployments.push(Deployment { index, weights, order });
            }
            groups.push(deployments);
        }
        Ok(Self { groups })
    }

    pub fn deployments(&self) -> usize {
        self.groups.iter().map(Vec::len).sum()
    }

    /// Positions in the group of the deployments left after the cooldown filter, litellm's
    /// order filter (the lowest order set, if any is set) and its exclusion filter
    /// (`_excluded_deployment_ids`, applied after the order filter), in group order.
    /// `left_out`: positions cooling down, then positions excluded, from `excluded_from` on.
    fn candidate_positions(&self, group: usize, left_out: &[u32], excluded_from: usize) -> Option<Vec<u32>> {
        let all = self.groups.get(group)?;
        let (cooled, excluded) = left_out.split_at(excluded_from.min(left_out.len()));
        let left: Vec<u32> = (0..all.len() as u32).filter(|i| !cooled.contains(i)).collect();
        let lowest = left.iter().filter_map(|&i| all[i as usize].order).min();
        Some(
            left.into_iter()
                .filter(|&i| (lowest.is_none() || all[i as usize].order == lowest) && !excluded.contains(&i))
                .collect(),
        )
    }

    /// The candidates themselves (see `candidate_positions`).
    fn candidates(&self, group: usize, left_out: &[u32], excluded_from: usize) -> Option<Vec<&Deployment>> {
        let all = self.groups.get(group)?;
        let positions = self.candidate_positions(group, left_out, excluded_from)?;
        Some(positions.into_iter().map(|i| &all[i as usize]).collect())
    }

    /// The metric that weighs the pick among `candidates`, as litellm chooses it.
    fn weighing_metric(candidates: &[&Deployment]) -> Option<usize> {
        (0..3).find(|&m| candidates.iter().map(|d| d.weights[m]).fold(0.0, f64::max) > 0.0)
    }

    pub fn draw_needed(&self, group: usize, left_out: &[u32], excluded_from: usize) -> Option<Draw> {
        let candidates = self.candidates(group, left_out, excluded_from)?;
        Some(if candidates.is_empty() {
            Draw::Nothing
        } else if Self::weighing_metric(&candidates).is_some() {
            Draw::Weighted
        } else {
            Draw::Uniform(candidates.len() as u32)
        })
    }

    /// The weighted pick for `random()` = `draw`: a model-list index. None if the group
    /// does not exist or its candidates are not weighted.
    pub fn pick_weighted(&self, group: usize, left_out: &[u32], excluded_from: usize, draw: f64) -> Option<u32> {
        let candidates = self.candidates(group, left_out, excluded_from)?;
        let metric = Self::weighing_metric(&candidates)?;
        // max() keeps the first of equal values; any positive largest divides alike
        let largest = candidates.iter().map(|d| d.weights[metric]).fold(f64::NEG_INFINITY, f64::max);
        let mut total = 0.0;
        let cumulative: Vec<f64> = candidates
            .iter()
            .map(|d| {
                total += d.weights[metric] / largest;
                total
            })
            .collect();
        let x = draw * (total + 0.0);
        // bisect.bisect_right(cumulative, x, 0, n - 1)
        let (mut lo, mut hi) = (0usize, candidates.len() - 1);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if x < cumulative[mid] {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Some(candidates[lo].index)
    }

    /// `random.choice` with `randbelow(n)` = `k`: a model-list index.
    pub fn pick_uniform(&self, group: usize, left_out: &[u32], excluded_from: usize, k: u32) -> Option<u32> {
        let candidates = self.candidates(group, left_out, excluded_from)?;
        if Self::weighing_metric(&candidates).is_some() {
            return None;
        }
        candidates.get(k as usize).map(|d| d.index)
    }

    /// litellm's least-busy pick: the first candidate with the fewest requests in flight.
    /// `in_flight`: a count per deployment of the group, in group order.
    pub fn pick_least_busy(&self, group: usize, left_out: &[u32], excluded_from: usize, in_flight: &[i64]) -> Option<u32> {
        let all = self.groups.get(group)?;
        if in_flight.len() != all.len() {
            return None;
        }
        let mut best: Option<(i64, u32)> = None;
        for i in self.candidate_positions(group, left_out, excluded_from)? {
            let count = in_flight[i as usize];
            if best.is_none_or(|(fewest, _)| count < fewest) {
                best = Some((count, all[i as usize].index));
            }
        }
        best.map(|(_, index)| index)
    }

    /// A selection in one string, for hosts where each argument costs (the Python host):
    /// `"group,mode,value,cooled[,excluded]"`: positions cooling down, and positions
    /// excluded after the order filter, each joined by `;`.
    /// Mode `w`: weighted pick for `random()` = value; `u`: uniform pick `randbelow(n)` =
    /// value; `b`: least-busy, value: requests in flight per deployment of the group, in
    /// group order, joined by `;`; all return the model-list index. Mode `d`: which draw the pick needs:
    /// 0 none, -1 `random()`, n > 0 `randbelow(n)`. i64::MIN for a malformed request or a
    /// pick that does not fit the candidates.
    pub fn select_packed(&self, request: &str) -> i64 {
        self.try_select_packed(request).unwrap_or(i64::MIN)
    }

    fn try_select_packed(&self, request: &str) -> Option<i64> {
        let mut parts = request.splitn(5, ',');
        let group: usize = parts.next()?.parse().ok()?;
        let mode = parts.next()?;
        let value = parts.next()?;
        // positions cooling down, then positions excluded: one list, split at `e`
        let mut left_out = positions(parts.next().unwrap_or(""))?;
        let e = left_out.len();
        left_out.extend(positions(parts.next().unwrap_or(""))?);
        match mode {
            "w" => self.pick_weighted(group, &left_out, e, value.parse().ok()?).map(i64::from),
            "u" => self.pick_uniform(group, &left_out, e, value.parse().ok()?).map(i64::from),
            "b" => {
                let counts: Vec<i64> = value.split(';').map(|c| c.parse().ok()).collect::<Option<_>>()?;
                self.pick_least_busy(group, &left_out, e, &counts).map(i64::from)
            }
            "d" => Some(match self.draw_needed(group, &left_out, e)? {
                Draw::Nothing => 0,
                Draw::Weighted => -1,
                Draw::Uniform(n) => i64::from(n),
            }),
            _ => None,
        }
    }
}

impl Router {
    /// The candidates of a group in one string, for the strategies whose scores live in
    /// the host (latency- and cost-based: litellm's own cache holds their inputs):
    /// `"group,cooled[,excluded]"` -> their positions in group order, joined by `;`.
    /// None for a malformed request or an unknown group.
    pub fn candidates_packed(&self, request: &str) -> Option<String> {
        let mut parts = request.splitn(3, ',');
        let group: usize = parts.next()?.parse().ok()?;
        let mut left_out = positions(parts.next()?)?;
        let e = left_out.len();
        left_out.extend(positions(parts.next().unwrap_or(""))?);
        let found = self.candidate_positions(group, &left_out, e)?;
        Some(found.iter().map(u32::to_string).collect::<Vec<_>>().join(";"))
    }
}

/// `"3;5"` -> [3, 5]; None if a position is not a number.
fn positions(list: &str) -> Option<Vec<u32>> {
    list.split(';').filter(|p| !p.is_empty()).map(|p| p.parse().ok()).collect()
}

/// Routers by handle; a dropped router's slot is reused.
#[derive(Debug, Default)]
pub struct Routers {
    slots: Vec<Option<Router>>,
}

impl Routers {
    pub fn insert(&mut self, router: Router) -> u32 {
        match self.slots.iter().position(Option::is_none) {
            Some(free) => {
                self.slots[free] = Some(router);
                free as u32
            }
            None => {
                self.slots.push(Some(router));
                (self.slots.len() - 1) as u32
            }
        }
    }

    pub fn get(&self, handle: u32) -> Option<&Router> {
        self.slots.get(handle as usize)?.as_ref()
    }

    pub fn remove(&mut self, handle: u32) -> bool {
        self.slots.get_mut(handle as usize).and_then(Option::take).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(index: u32, weights: [f64; 3], order: Option<i64>) -> Deployment {
        Deployment { index, weights, order }
    }

    #[test]
    fn uniform_without_weights_and_the_lowest_order_wins() {
        let r = Router::new(vec![vec![d(4, [0.0; 3], Some(2)), d(7, [0.0; 3], Some(1)), d(9, [0.0; 3], None)]]);
        assert_eq!(r.draw_needed(0, &[], 0), Some(Draw::Uniform(1)));
        assert_eq!(r.pick_uniform(0, &[], 0, 0), Some(7));
        // the order-1 deployment cooling down: order 2 is the lowest left
        assert_eq!(r.pick_uniform(0, &[1], 1, 0), Some(4));
        assert_eq!(r.draw_needed(0, &[0, 1, 2], 3), Some(Draw::Nothing));
        assert_eq!(r.pick_uniform(0, &[], 0, 1), None);
        // excluded (not cooling down): after the order filter, so order 2 does not step in
        assert_eq!(r.draw_needed(0, &[1], 0), Some(Draw::Nothing));
    }

    #[test]
    fn weighted_pick_is_python_bisect_over_normalised_cumulative_weights() {
        // weights 1, 3 -> normalised 1/3, 1; cumulative [1/3, 4/3]; total 4/3
        let r = Router::new(vec![vec![d(0, [1.0, 0.0, 0.0], None), d(1, [3.0, 0.0, 0.0], None)]]);
        assert_eq!(r.draw_needed(0, &[], 0), Some(Draw::Weighted));
        assert_eq!(r.pick_weighted(0, &[], 0, 0.0), Some(0));
        assert_eq!(r.pick_weighted(0, &[], 0, 0.2499), Some(0));
        assert_eq!(r.pick_weighted(0, &[], 0, 0.25), Some(1)); // x == cumulative[0]: bisect_right
        assert_eq!(r.pick_weighted(0, &[], 0, 0.999), Some(1));
    }

    #[test]
    fn rpm_weighs_when_no_weight_is_set_and_cooldown_can_make_the_pick_uniform() {
        let r = Router::new(vec![vec![d(0, [0.0, 10.0, 0.0], None), d(1, [0.0, 0.0, 0.0], None)]]);
        assert_eq!(r.draw_needed(0, &[], 0), Some(Draw::Weighted));
        assert_eq!(r.pick_weighted(0, &[], 0, 0.99), Some(0)); // zero weight: never picked
        assert_eq!(r.draw_needed(0, &[0], 1), Some(Draw::Uniform(1)));
        assert_eq!(r.pick_weighted(0, &[0], 1, 0.5), None);
    }

    #[test]
    fn packed_requests() {
        let r = Router::from_json("[[[3,0,0,0,null],[5,2,0,0,null]],[[8,0,0,0,1]]]").unwrap();
        assert_eq!(r.deployments(), 3);
        assert_eq!(r.select_packed("0,d,,"), -1);
        assert_eq!(r.select_packed("0,w,0.9,"), 5);
        assert_eq!(r.select_packed("0,d,,1"), 1);
        assert_eq!(r.select_packed("0,u,0,1"), 3);
        assert_eq!(r.select_packed("0,d,,0;1"), 0);
        assert_eq!(r.select_packed("1,u,0,"), 8);
        assert_eq!(r.select_packed("0,d,,,1"), 1); // the weighted one excluded: uniform over one
        assert_eq!(r.select_packed("0,d,,,0"), -1);
        assert_eq!(r.select_packed("0,d,,1,0"), 0);
        assert_eq!(r.select_packed("2,u,0,"), i64::MIN);
        assert_eq!(r.select_packed("0,x,0,"), i64::MIN);
        assert_eq!(r.select_packed("0,w,nope,"), i64::MIN);
        assert!(Router::from_json("[[[0,-1,0,0,null]]]").is_err());
        assert!(Router::from_json("[[[0,1,0,0]]]").is_err());
    }

    #[test]
    fn least_busy_takes_the_first_of_the_fewest_among_candidates() {
        let r = Router::new(vec![
            vec![d(3, [0.0; 3], None), d(5, [0.0; 3], None), d(7, [0.0; 3], Some(1))],
            vec![d(3, [0.0; 3], None), d(5, [0.0; 3], None), d(9, [0.0; 3], None)],
        ]);
        // order 1 is set on the last one only: it is the only candidate, however busy
        assert_eq!(r.pick_least_busy(0, &[], 0, &[0, 0, 9]), Some(7));
        assert_eq!(r.pick_least_busy(1, &[], 0, &[2, 1, 1]), Some(5)); // the first of the fewest
        assert_eq!(r.select_packed("1,b,2;1;1,1"), 9); // 5 cooling down
        assert_eq!(r.select_packed("1,b,2;1;1,,1"), 9); // 5 excluded
        assert_eq!(r.select_packed("1,b,2;1,"), i64::MIN); // a count per deployment
        assert_eq!(r.select_packed("1,b,2;1;1,0;1;2"), i64::MIN); // none left
    }

    #[test]
    fn candidates_are_what_the_cooldown_order_and_exclusion_filters_leave() {
        let r = Router::from_json("[[[3,0,0,0,2],[5,0,0,0,1],[8,0,0,0,null],[9,0,0,0,1]]]").unwrap();
        assert_eq!(r.candidates_packed("0,").as_deref(), Some("1;3"));
        assert_eq!(r.candidates_packed("0,1;3").as_deref(), Some("0")); // order 2 steps in
        assert_eq!(r.candidates_packed("0,,1").as_deref(), Some("3")); // excluded: after order
        assert_eq!(r.candidates_packed("0,0;1;3").as_deref(), Some("2")); // no order set: left
        assert_eq!(r.candidates_packed("0,0;1;2;3").as_deref(), Some(""));
        assert_eq!(r.candidates_packed("1,"), None);
        assert_eq!(r.candidates_packed("0,x"), None);
        assert_eq!(r.candidates_packed("0"), None);
    }

    #[test]
    fn slots_are_reused() {
        let mut routers = Routers::default();
        let a = routers.insert(Router::default());
        let b = routers.insert(Router::default());
        assert!(routers.remove(a));
        assert!(!routers.remove(a));
        assert_eq!(routers.insert(Router::default()), a);
        assert!(routers.get(b).is_some());
    }
}

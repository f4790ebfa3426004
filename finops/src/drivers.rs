//! Attribution of the change in cost per 1k proofs to its three drivers.
//!
//! With, for one period, C the total cost (workload + idle + shared), N proofs, W device-seconds
//! spent proving and H device-seconds paid for (W + idle):
//!
//! ```text
//! K = 1000 · C / N = 1000 · p · s / u     with   p = C / H   (price mix: all-in USD per paid device-second)
//!                                                 s = W / N   (device-seconds per proof)
//!                                                 u = W / H   (utilisation)
//! ```
//!
//! The change K₁ − K₀ between two periods is split with the logarithmic-mean Divisia index
//! (LMDI-I; Ang, "The LMDI approach to decomposition analysis: a practical guide", Energy
//! Policy 33, 2005): with L = (K₁ − K₀) / ln(K₁/K₀) (L = K₁ when K₁ = K₀),
//!
//! ```text
//! ΔK_price = L · ln(p₁/p₀)     ΔK_seconds = L · ln(s₁/s₀)     ΔK_utilisation = −L · ln(u₁/u₀)
//! ```
//!
//! and the three terms sum to K₁ − K₀ exactly (because ln K = ln 1000 + ln p + ln s − ln u).
//! Attribution needs every factor positive in both periods; otherwise there is none. A term
//! smaller than 10⁻¹² · max(K₀, K₁) (a factor that did not move, up to rounding) is reported as 0.

use serde::Serialize;

/// The inputs of one period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Factors {
    /// Total cost C, USD.
    pub total_usd: f64,
    /// Proofs N.
    pub proofs: f64,
    /// Device-seconds spent proving W.
    pub proving_seconds: f64,
    /// Device-seconds paid for H.
    pub paid_seconds: f64,
}

impl Factors {
    /// Cost per 1k proofs, when there were proofs.
    pub fn usd_per_1k(&self) -> Option<f64> {
        (self.proofs > 0.0).then(|| 1000.0 * self.total_usd / self.proofs)
    }
    fn parts(&self) -> Option<(f64, f64, f64)> {
        if self.total_usd > 0.0 && self.proofs > 0.0 && self.proving_seconds > 0.0 && self.paid_seconds > 0.0 {
            Some((self.total_usd / self.paid_seconds, self.proving_seconds / self.proofs, self.proving_seconds / self.paid_seconds))
        } else {
            None
        }
    }
}

/// The change in cost per 1k proofs and its three parts (USD per 1k proofs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Drivers {
    /// Previous cost per 1k proofs.
    pub previous_usd_per_1k: f64,
    /// Current cost per 1k proofs.
    pub current_usd_per_1k: f64,
    /// Current − previous.
    pub change: f64,
    /// Part due to price mix (all-in USD per paid device-second).
    pub price_mix: f64,
    /// Part due to device-seconds per proof.
    pub device_seconds_per_proof: f64,
    /// Part due to utilisation (proving ÷ paid device time).
    pub utilisation: f64,
}

/// The attribution between `previous` and `current`, when both have positive factors.
pub fn attribute(previous: &Factors, current: &Factors) -> Option<Drivers> {
    let (p0, s0, u0) = previous.parts()?;
    let (p1, s1, u1) = current.parts()?;
    let k0 = 1000.0 * p0 * s0 / u0;
    let k1 = 1000.0 * p1 * s1 / u1;
    let l = if (k1 - k0).abs() <= f64::EPSILON * k0.abs().max(k1.abs()) { k1 } else { (k1 - k0) / (k1 / k0).ln() };
    // A factor that did not move (up to rounding in the ratios) contributes exactly zero.
    let noise = 1e-12 * k0.abs().max(k1.abs());
    let clean = |x: f64| if x.abs() <= noise { 0.0 } else { x };
    Some(Drivers {
        previous_usd_per_1k: k0,
        current_usd_per_1k: k1,
        change: k1 - k0,
        price_mix: clean(l * (p1 / p0).ln()),
        device_seconds_per_proof: clean(l * (s1 / s0).ln()),
        utilisation: clean(-l * (u1 / u0).ln()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_parts_are_hand_computed_and_sum_to_the_change() {
        // Week 0: $10 over 1000 paid device-s, 800 proving, 400 proofs → K₀ = $25/1k
        //         (p = 0.01, s = 2, u = 0.8).
        // Week 1: $9 over 1000 paid, 900 proving, 600 proofs → K₁ = $15/1k (p = 0.009, s = 1.5, u = 0.9).
        // L = −10 / ln(0.6) = 19.576152; price: L·ln(0.9) = −2.062553; seconds: L·ln(0.75) =
        // −5.631708; utilisation: −L·ln(1.125) = −2.305739; sum −10.
        let w0 = Factors { total_usd: 10.0, proofs: 400.0, proving_seconds: 800.0, paid_seconds: 1000.0 };
        let w1 = Factors { total_usd: 9.0, proofs: 600.0, proving_seconds: 900.0, paid_seconds: 1000.0 };
        let d = attribute(&w0, &w1).expect("attribution");
        assert!((d.previous_usd_per_1k - 25.0).abs() < 1e-12 && (d.current_usd_per_1k - 15.0).abs() < 1e-12);
        assert!((d.change + 10.0).abs() < 1e-12);
        assert!((d.price_mix + 2.062553).abs() < 1e-6, "{d:?}");
        assert!((d.device_seconds_per_proof + 5.631708).abs() < 1e-6);
        assert!((d.utilisation + 2.305739).abs() < 1e-6);
        assert!((d.price_mix + d.device_seconds_per_proof + d.utilisation - d.change).abs() < 1e-12);
    }

    #[test]
    fn an_unchanged_total_can_still_have_offsetting_drivers() {
        // Price up 56.25 %, device-seconds per proof down 20 %, utilisation up 25 %: K unchanged ($80/1k).
        let a = Factors { total_usd: 8.0, proofs: 100.0, proving_seconds: 500.0, paid_seconds: 1000.0 };
        let b = Factors { total_usd: 10.0, proofs: 125.0, proving_seconds: 500.0, paid_seconds: 800.0 };
        let d = attribute(&a, &b).expect("attribution");
        assert!(d.change.abs() < 1e-12);
        assert!((d.price_mix + d.device_seconds_per_proof + d.utilisation).abs() < 1e-9);
        assert!(d.price_mix > 0.0 && d.device_seconds_per_proof < 0.0);
    }

    #[test]
    fn no_proofs_means_no_attribution_and_no_nan() {
        let a = Factors { total_usd: 8.0, proofs: 0.0, proving_seconds: 0.0, paid_seconds: 1000.0 };
        let b = Factors { total_usd: 8.0, proofs: 10.0, proving_seconds: 5.0, paid_seconds: 1000.0 };
        assert_eq!(attribute(&a, &b), None);
        assert_eq!(a.usd_per_1k(), None);
    }
}

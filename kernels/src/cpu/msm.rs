//! Batched MSM on the CPU through arkworks' `VariableBaseMSM` (Pippenger with signed digits,
//! parallel over windows with rayon).

use ark_ec::VariableBaseMSM;
use ark_ff::PrimeField;
use rayon::prelude::*;

use crate::Fr;

/// `Σ_i s[i]·bases[i]` for each scalar vector `s`.
pub(super) fn msm_batch<G>(bases: &[G::MulBase], scalars: &[&[Fr]]) -> Vec<G>
where
    G: VariableBaseMSM<ScalarField = Fr>,
{
    scalars
        .iter()
        .map(|s| {
            let bigints: Vec<_> = s.par_iter().map(|x| x.into_bigint()).collect();
            G::msm_bigint(bases, &bigints)
        })
        .collect()
}

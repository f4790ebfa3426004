// A short-Weierstrass curve y² = x³ + b (a = 0) in homogeneous projective coordinates
// (X : Y : Z), x = X/Z, y = Y/Z, identity (0 : 1 : 0). Instantiated per group by replacing
// `CC_` (`g1_`, `g2_`), `CF` (coordinate field type) and `cf_` (its function prefix).
// `CC_B3` = 3·b is generated from arkworks' curve parameters.
//
// The formulas are the *complete* ones of Renes, Costello, Batina, "Complete addition formulas
// for prime order elliptic curves", EUROCRYPT 2016 (ePrint 2015/1060), Algorithms 7 (addition),
// 8 (mixed addition) and 9 (doubling) for a = 0: no branches for P = Q, P = −Q or the identity,
// which is what bucket sums with repeated points and P, −P in one bucket need on a GPU.

struct CC_Proj {
    x: CF,
    y: CF,
    z: CF,
}

struct CC_Aff {
    x: CF,
    y: CF,
}

fn CC_identity() -> CC_Proj {
    return CC_Proj(cf_zero(), cf_one(), cf_zero());
}

fn CC_is_identity(p: CC_Proj) -> bool {
    return cf_is_zero(p.z);
}

fn CC_neg_aff(p: CC_Aff) -> CC_Aff {
    return CC_Aff(p.x, cf_neg(p.y));
}

// Up to six independent products in one loop. Drivers inline every WGSL call (Mesa's NIR
// does), so straight-line formulas with a dozen field multiplies become a dozen copies of the
// multiply and pipelines took minutes to compile on lavapipe; one call site inside a loop the
// compiler does not unroll (`ROLL`, see dispatch.wgsl) keeps one copy. The formulas below are therefore written as three
// layers of independent products each.
fn CC_mul_batch(l_in: array<CF, 6>, r_in: array<CF, 6>, n: u32) -> array<CF, 6> {
    var l = l_in;
    var r = r_in;
    var out: array<CF, 6>;
    for (var k = 0u; k < n + ROLL; k++) {
        let i = k + ROLL;
        out[i] = cf_mul(l[i], r[i]);
    }
    return out;
}

// The last layer shared by Algorithms 7 and 8: from t0 = 3·X1X2, t3, t4, Y3 = b3·(…),
// Z3 = Y1Y2 + b3·(…), t1 = Y1Y2 − b3·(…):
//   X3 = t3·t1 − t4·Y3,  Y3' = t1·Z3 + Y3·t0,  Z3' = Z3·t4 + t0·t3.
fn CC_add_finish(t0: CF, t1: CF, t3: CF, t4: CF, y3: CF, z3: CF) -> CC_Proj {
    let m = CC_mul_batch(
        array<CF, 6>(t4, t3, y3, t1, t0, z3),
        array<CF, 6>(y3, t1, t0, z3, t3, t4),
        6u,
    );
    return CC_Proj(cf_sub(m[1], m[0]), cf_add(m[3], m[2]), cf_add(m[5], m[4]));
}

// RCB16 Algorithm 7 (complete addition, a = 0), regrouped into independent products.
fn CC_add(p: CC_Proj, q: CC_Proj) -> CC_Proj {
    let m = CC_mul_batch(
        array<CF, 6>(p.x, p.y, p.z, cf_add(p.x, p.y), cf_add(p.y, p.z), cf_add(p.x, p.z)),
        array<CF, 6>(q.x, q.y, q.z, cf_add(q.x, q.y), cf_add(q.y, q.z), cf_add(q.x, q.z)),
        6u,
    );
    let t0 = m[0];
    let t1 = m[1];
    let t2 = m[2];
    let t3 = cf_sub(m[3], cf_add(t0, t1));
    let t4 = cf_sub(m[4], cf_add(t1, t2));
    let y3 = cf_sub(m[5], cf_add(t0, t2));
    let b = CC_mul_batch(
        array<CF, 6>(CC_B3, CC_B3, cf_zero(), cf_zero(), cf_zero(), cf_zero()),
        array<CF, 6>(t2, y3, cf_zero(), cf_zero(), cf_zero(), cf_zero()),
        2u,
    );
    let t0x3 = cf_add(cf_add(t0, t0), t0);
    return CC_add_finish(t0x3, cf_sub(t1, b[0]), t3, t4, b[1], cf_add(t1, b[0]));
}

// RCB16 Algorithm 8: p + q with q affine. q must not be the identity (callers skip those).
fn CC_add_mixed(p: CC_Proj, q: CC_Aff) -> CC_Proj {
    let m = CC_mul_batch(
        array<CF, 6>(p.x, p.y, cf_add(p.x, p.y), q.y, q.x, CC_B3),
        array<CF, 6>(q.x, q.y, cf_add(q.x, q.y), p.z, p.z, p.z),
        6u,
    );
    let t0 = m[0];
    let t1 = m[1];
    let t2 = m[5];
    let t3 = cf_sub(m[2], cf_add(t0, t1));
    let t4 = cf_add(m[3], p.y);
    let y3 = cf_add(m[4], p.x);
    let b = CC_mul_batch(
        array<CF, 6>(CC_B3, cf_zero(), cf_zero(), cf_zero(), cf_zero(), cf_zero()),
        array<CF, 6>(y3, cf_zero(), cf_zero(), cf_zero(), cf_zero(), cf_zero()),
        1u,
    );
    let t0x3 = cf_add(cf_add(t0, t0), t0);
    return CC_add_finish(t0x3, cf_sub(t1, t2), t3, t4, b[0], cf_add(t1, t2));
}

// RCB16 Algorithm 9 (doubling, a = 0), regrouped into independent products.
fn CC_double(p: CC_Proj) -> CC_Proj {
    let z0 = cf_zero();
    let m = CC_mul_batch(
        array<CF, 6>(p.y, p.y, p.z, p.x, z0, z0),
        array<CF, 6>(p.y, p.z, p.z, p.y, z0, z0),
        4u,
    );
    let t0 = m[0];
    let t1 = m[1];
    let txy = m[3];
    let b = CC_mul_batch(
        array<CF, 6>(CC_B3, z0, z0, z0, z0, z0),
        array<CF, 6>(m[2], z0, z0, z0, z0, z0),
        1u,
    );
    let t2 = b[0];
    let t0x2 = cf_add(t0, t0);
    let t0x4 = cf_add(t0x2, t0x2);
    let z8 = cf_add(t0x4, t0x4);
    let t0p = cf_sub(t0, cf_add(cf_add(t2, t2), t2));
    let f = CC_mul_batch(
        array<CF, 6>(t2, t1, t0p, t0p, z0, z0),
        array<CF, 6>(z8, z8, cf_add(t0, t2), txy, z0, z0),
        4u,
    );
    return CC_Proj(cf_add(f[3], f[3]), cf_add(f[0], f[2]), f[1]);
}

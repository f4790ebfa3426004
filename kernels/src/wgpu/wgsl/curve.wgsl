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
// compiler does not unroll (`ROLL`, see dispatch.wgsl) keeps one copy.
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

// Each formula below is three layers of independent products, run as three rounds of ONE
// `CC_mul_batch` call site: after inlining, a formula holds a single copy of the field
// multiply (for G2 that is one Fq2 multiply holding one Fq multiply). With one call site per
// layer instead (three per formula, and two or more formulas per entry point) the G2
// reduction pipelines took 70 s to many minutes to compile on lavapipe; see bench/RESULTS.md.
// On GPUs (`ROLL` = 0) the driver unrolls the rounds again.
//
// The last layer, shared by Algorithms 7 and 8: from t0 = 3·X1X2, t3, t4, Y3 = b3·(…),
// Z3 = Y1Y2 + b3·(…), t1 = Y1Y2 − b3·(…):
//   X3 = t3·t1 − t4·Y3,  Y3' = t1·Z3 + Y3·t0,  Z3' = Z3·t4 + t0·t3.
// `CC_finish_operands` sets its operands; `CC_finish` reads its products.
fn CC_finish_operands(l: ptr<function, array<CF, 6>>, r: ptr<function, array<CF, 6>>, t0: CF, t1: CF, t3: CF, t4: CF, y3: CF, z3: CF) {
    *l = array<CF, 6>(t4, t3, y3, t1, t0, z3);
    *r = array<CF, 6>(y3, t1, t0, z3, t3, t4);
}

fn CC_finish(m: array<CF, 6>) -> CC_Proj {
    return CC_Proj(cf_sub(m[1], m[0]), cf_add(m[3], m[2]), cf_add(m[5], m[4]));
}

// RCB16 Algorithm 7 (complete addition, a = 0), regrouped into independent products:
//   layer 1: X1X2, Y1Y2, Z1Z2, (X1+Y1)(X2+Y2), (Y1+Z1)(Y2+Z2), (X1+Z1)(X2+Z2);
//   layer 2: b3·Z1Z2, b3·(the Y3 of Algorithm 7 line 18);  layer 3: `CC_finish`.
// Complete: also right for p = q (doubling), p = −q and the identity.
fn CC_add(p: CC_Proj, q: CC_Proj) -> CC_Proj {
    var l = array<CF, 6>(p.x, p.y, p.z, cf_add(p.x, p.y), cf_add(p.y, p.z), cf_add(p.x, p.z));
    var r = array<CF, 6>(q.x, q.y, q.z, cf_add(q.x, q.y), cf_add(q.y, q.z), cf_add(q.x, q.z));
    var n = 6u;
    var t0 = cf_zero();
    var t1 = cf_zero();
    var t3 = cf_zero();
    var t4 = cf_zero();
    var out = CC_identity();
    for (var rd = 0u; rd < 3u + ROLL; rd++) {
        let m = CC_mul_batch(l, r, n);
        if (rd == 0u) {
            t0 = m[0];
            t1 = m[1];
            t3 = cf_sub(m[3], cf_add(m[0], m[1]));
            t4 = cf_sub(m[4], cf_add(m[1], m[2]));
            let y3 = cf_sub(m[5], cf_add(m[0], m[2]));
            l[0] = CC_B3;
            r[0] = m[2];
            l[1] = CC_B3;
            r[1] = y3;
            n = 2u;
        } else if (rd == 1u) {
            let t0x3 = cf_add(cf_add(t0, t0), t0);
            CC_finish_operands(&l, &r, t0x3, cf_sub(t1, m[0]), t3, t4, m[1], cf_add(t1, m[0]));
            n = 6u;
        } else {
            out = CC_finish(m);
        }
    }
    return out;
}

// RCB16 Algorithm 8: p + q with q affine. q must not be the identity (callers skip those).
//   layer 1: X1X2, Y1Y2, (X1+Y1)(X2+Y2), Y2Z1, X2Z1, b3·Z1;  layer 2: b3·(X2Z1 + X1);
//   layer 3: `CC_finish`.
fn CC_add_mixed(p: CC_Proj, q: CC_Aff) -> CC_Proj {
    var l = array<CF, 6>(p.x, p.y, cf_add(p.x, p.y), q.y, q.x, CC_B3);
    var r = array<CF, 6>(q.x, q.y, cf_add(q.x, q.y), p.z, p.z, p.z);
    var n = 6u;
    var t0 = cf_zero();
    var t1 = cf_zero();
    var t2 = cf_zero();
    var t3 = cf_zero();
    var t4 = cf_zero();
    var out = CC_identity();
    for (var rd = 0u; rd < 3u + ROLL; rd++) {
        let m = CC_mul_batch(l, r, n);
        if (rd == 0u) {
            t0 = m[0];
            t1 = m[1];
            t2 = m[5];
            t3 = cf_sub(m[2], cf_add(m[0], m[1]));
            t4 = cf_add(m[3], p.y);
            l[0] = CC_B3;
            r[0] = cf_add(m[4], p.x);
            n = 1u;
        } else if (rd == 1u) {
            let t0x3 = cf_add(cf_add(t0, t0), t0);
            CC_finish_operands(&l, &r, t0x3, cf_sub(t1, t2), t3, t4, m[0], cf_add(t1, t2));
            n = 6u;
        } else {
            out = CC_finish(m);
        }
    }
    return out;
}

// RCB16 Algorithm 9 (doubling, a = 0), regrouped into independent products:
//   layer 1: Y², YZ, Z², XY;  layer 2: b3·Z²;  layer 3: t2·8Y², YZ·8Y², (Y² − 3t2)(Y² + t2),
//   (Y² − 3t2)·XY.
fn CC_double(p: CC_Proj) -> CC_Proj {
    let z0 = cf_zero();
    var l = array<CF, 6>(p.y, p.y, p.z, p.x, z0, z0);
    var r = array<CF, 6>(p.y, p.z, p.z, p.y, z0, z0);
    var n = 4u;
    var t0 = z0;
    var t1 = z0;
    var txy = z0;
    var out = CC_identity();
    for (var rd = 0u; rd < 3u + ROLL; rd++) {
        let m = CC_mul_batch(l, r, n);
        if (rd == 0u) {
            t0 = m[0];
            t1 = m[1];
            txy = m[3];
            l[0] = CC_B3;
            r[0] = m[2];
            n = 1u;
        } else if (rd == 1u) {
            let t2 = m[0];
            let t0x2 = cf_add(t0, t0);
            let t0x4 = cf_add(t0x2, t0x2);
            let z8 = cf_add(t0x4, t0x4);
            let t0p = cf_sub(t0, cf_add(cf_add(t2, t2), t2));
            l = array<CF, 6>(t2, t1, t0p, t0p, z0, z0);
            r = array<CF, 6>(z8, z8, cf_add(t0, t2), txy, z0, z0);
            n = 4u;
        } else {
            out = CC_Proj(cf_add(m[3], m[3]), cf_add(m[0], m[2]), m[1]);
        }
    }
    return out;
}

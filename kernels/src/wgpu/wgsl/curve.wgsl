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

// RCB16 Algorithm 7.
fn CC_add(p: CC_Proj, q: CC_Proj) -> CC_Proj {
    var t0 = cf_mul(p.x, q.x);
    var t1 = cf_mul(p.y, q.y);
    var t2 = cf_mul(p.z, q.z);
    var t3 = cf_add(p.x, p.y);
    var t4 = cf_add(q.x, q.y);
    t3 = cf_mul(t3, t4);
    t4 = cf_add(t0, t1);
    t3 = cf_sub(t3, t4);
    t4 = cf_add(p.y, p.z);
    var x3 = cf_add(q.y, q.z);
    t4 = cf_mul(t4, x3);
    x3 = cf_add(t1, t2);
    t4 = cf_sub(t4, x3);
    x3 = cf_add(p.x, p.z);
    var y3 = cf_add(q.x, q.z);
    x3 = cf_mul(x3, y3);
    y3 = cf_add(t0, t2);
    y3 = cf_sub(x3, y3);
    x3 = cf_add(t0, t0);
    t0 = cf_add(x3, t0);
    t2 = cf_mul(CC_B3, t2);
    var z3 = cf_add(t1, t2);
    t1 = cf_sub(t1, t2);
    y3 = cf_mul(CC_B3, y3);
    x3 = cf_mul(t4, y3);
    t2 = cf_mul(t3, t1);
    x3 = cf_sub(t2, x3);
    y3 = cf_mul(y3, t0);
    t1 = cf_mul(t1, z3);
    y3 = cf_add(t1, y3);
    t0 = cf_mul(t0, t3);
    z3 = cf_mul(z3, t4);
    z3 = cf_add(z3, t0);
    return CC_Proj(x3, y3, z3);
}

// RCB16 Algorithm 8: p + q with q affine. q must not be the identity (callers skip those).
fn CC_add_mixed(p: CC_Proj, q: CC_Aff) -> CC_Proj {
    var t0 = cf_mul(p.x, q.x);
    var t1 = cf_mul(p.y, q.y);
    var t3 = cf_add(q.x, q.y);
    var t4 = cf_add(p.x, p.y);
    t3 = cf_mul(t3, t4);
    t4 = cf_add(t0, t1);
    t3 = cf_sub(t3, t4);
    t4 = cf_mul(q.y, p.z);
    t4 = cf_add(t4, p.y);
    var y3 = cf_mul(q.x, p.z);
    y3 = cf_add(y3, p.x);
    var x3 = cf_add(t0, t0);
    t0 = cf_add(x3, t0);
    var t2 = cf_mul(CC_B3, p.z);
    var z3 = cf_add(t1, t2);
    t1 = cf_sub(t1, t2);
    y3 = cf_mul(CC_B3, y3);
    x3 = cf_mul(t4, y3);
    t2 = cf_mul(t3, t1);
    x3 = cf_sub(t2, x3);
    y3 = cf_mul(y3, t0);
    t1 = cf_mul(t1, z3);
    y3 = cf_add(t1, y3);
    t0 = cf_mul(t0, t3);
    z3 = cf_mul(z3, t4);
    z3 = cf_add(z3, t0);
    return CC_Proj(x3, y3, z3);
}

// RCB16 Algorithm 9.
fn CC_double(p: CC_Proj) -> CC_Proj {
    var t0 = cf_square(p.y);
    var z3 = cf_add(t0, t0);
    z3 = cf_add(z3, z3);
    z3 = cf_add(z3, z3);
    var t1 = cf_mul(p.y, p.z);
    var t2 = cf_square(p.z);
    t2 = cf_mul(CC_B3, t2);
    var x3 = cf_mul(t2, z3);
    var y3 = cf_add(t0, t2);
    z3 = cf_mul(t1, z3);
    t1 = cf_add(t2, t2);
    t2 = cf_add(t1, t2);
    t0 = cf_sub(t0, t2);
    y3 = cf_mul(t0, y3);
    y3 = cf_add(x3, y3);
    t1 = cf_mul(p.x, p.y);
    x3 = cf_mul(t0, t1);
    x3 = cf_add(x3, x3);
    return CC_Proj(x3, y3, z3);
}

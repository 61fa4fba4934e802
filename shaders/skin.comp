// Linear blend skinning on the GPU: the math of core/lbs.posed_gaussians (the oracle), so a new pose
// uploads only the joints' skinning transforms and quaternions instead of every Gaussian.
//   mean = (sum_k w_k A_k) [x, 1]          (A_j: joint j's 3x4 skinning transform)
//   quat = normalize(sum_k w_k q_j) * q    (q_j: joint j's quaternion, from joint_quats.comp)
// Writes the posed mean and quaternion into the Gaussians buffer the projection pass reads; scale,
// opacity and colour there stay as set_gaussians wrote them.

layout(local_size_x = 128) in;

struct Gaussian {
    vec4 mean_opacity;  // xyz metres, opacity 0..1
    vec4 quat;          // w, x, y, z
    vec4 scale;         // xyz metres, w unused
    vec4 color;         // rgb 0..1, a unused
};
struct RestGaussian {
    vec4 mean;          // xyz rest position, w unused
    vec4 quat;          // rest orientation w, x, y, z
    uvec4 bones[2];     // up to 8 joint indices
    vec4 weights[2];    // their weights (0 for unused slots)
};
struct Joint {
    vec4 rows[3];       // skinning transform A_j, row-major 3x4
    vec4 quat;          // rotation of A_j as a unit quaternion w, x, y, z
};
layout(std430, binding = 0) buffer Gaussians { Gaussian gaussians[]; };
layout(std430, binding = 4) readonly buffer Rest { RestGaussian rest[]; };
layout(std430, binding = 5) readonly buffer Joints { Joint joints[]; };

uniform uint u_count;

vec4 quat_multiply(vec4 a, vec4 b) {  // Hamilton product a * b, as core.rotations.quaternion_multiply
    return vec4(a.x * b.x - a.y * b.y - a.z * b.z - a.w * b.w,
                a.x * b.y + a.y * b.x + a.z * b.w - a.w * b.z,
                a.x * b.z - a.y * b.w + a.z * b.x + a.w * b.y,
                a.x * b.w + a.y * b.z - a.z * b.y + a.w * b.x);
}

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= u_count) return;
    RestGaussian r = rest[i];
    vec4 row0 = vec4(0.0), row1 = vec4(0.0), row2 = vec4(0.0), q = vec4(0.0);
    for (int k = 0; k < 8; ++k) {
        float w = r.weights[k >> 2][k & 3];
        if (w == 0.0) continue;
        Joint j = joints[r.bones[k >> 2][k & 3]];
        row0 += w * j.rows[0];
        row1 += w * j.rows[1];
        row2 += w * j.rows[2];
        q += w * j.quat;
    }
    vec4 x = vec4(r.mean.xyz, 1.0);
    gaussians[i].mean_opacity.xyz = vec3(dot(row0, x), dot(row1, x), dot(row2, x));
    q /= max(length(q), 1e-12);
    gaussians[i].quat = quat_multiply(q, r.quat);
}

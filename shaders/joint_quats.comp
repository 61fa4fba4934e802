// The joints' rotation quaternions for GPU skinning, from their skinning transforms, as
// core.lbs.bone_quaternions: Shepperd's method (core.rotations.matrix_to_quaternion: the largest of the
// four candidate denominators, normalised, w >= 0), then each joint flipped into its parent's hemisphere
// walking the tree in joint order (parents come before their children). Run as ONE workgroup: the walk is
// sequential, but over ~100 joints it costs microseconds, where the CPU paid ~1 ms a pose in torch calls.

layout(local_size_x = 256) in;

struct Joint {
    vec4 rows[3];  // skinning transform A_j, row-major 3x4
    vec4 quat;     // written here: w, x, y, z
};
layout(std430, binding = 5) buffer Joints { Joint joints[]; };
layout(std430, binding = 6) readonly buffer Parents { int parents[]; };

uniform uint u_joints;  // <= 256
uniform uint u_align;   // 0: no rig tree given, keep w >= 0

shared vec4 q[256];

void main() {
    uint j = gl_LocalInvocationID.x;
    if (j < u_joints) {
        vec4 r0 = joints[j].rows[0], r1 = joints[j].rows[1], r2 = joints[j].rows[2];
        float m00 = r0.x, m01 = r0.y, m02 = r0.z, m10 = r1.x, m11 = r1.y, m12 = r1.z;
        float m20 = r2.x, m21 = r2.y, m22 = r2.z;
        vec4 diag = vec4(1.0 + m00 + m11 + m22, 1.0 + m00 - m11 - m22, 1.0 - m00 + m11 - m22, 1.0 - m00 - m11 + m22);
        vec4 c;
        if (diag.x >= diag.y && diag.x >= diag.z && diag.x >= diag.w) {  // first maximum, as torch.argmax
            c = vec4(diag.x, m21 - m12, m02 - m20, m10 - m01);
        } else if (diag.y >= diag.z && diag.y >= diag.w) {
            c = vec4(m21 - m12, diag.y, m01 + m10, m02 + m20);
        } else if (diag.z >= diag.w) {
            c = vec4(m02 - m20, m01 + m10, diag.z, m12 + m21);
        } else {
            c = vec4(m10 - m01, m02 + m20, m12 + m21, diag.w);
        }
        c /= max(length(c), 1e-12);
        q[j] = c.x < 0.0 ? -c : c;
    }
    barrier();
    if (j == 0u && u_align != 0u) {
        for (uint k = 1u; k < u_joints; ++k) {
            int p = parents[k];
            if (p >= 0 && dot(q[k], q[p]) < 0.0) q[k] = -q[k];
        }
    }
    barrier();
    if (j < u_joints) joints[j].quat = q[j];
}

// View-space depth of every Gaussian's mean, for the CPU's back-to-front sort in the quad path when
// the GPU holds the posed means (GPU skinning): 4 bytes per Gaussian come back instead of the means.

layout(local_size_x = 128) in;

struct Gaussian {
    vec4 mean_opacity;  // xyz metres, opacity 0..1
    vec4 quat;
    vec4 scale;
    vec4 color;
};
layout(std430, binding = 0) readonly buffer Gaussians { Gaussian gaussians[]; };
layout(std430, binding = 3) writeonly buffer Depths { float depths[]; };

uniform uint u_count;
uniform vec4 u_view_z;  // third row of the world -> camera matrix

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= u_count) return;
    depths[i] = dot(u_view_z.xyz, gaussians[i].mean_opacity.xyz) + u_view_z.w;
}

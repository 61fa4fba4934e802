// Naive baseline: all attributes re-uploaded every frame, already in back-to-front order, as
// per-instance vertex attributes; the full projection runs for each of the 4 quad corners, and the
// quad is the classic square. Same pixels as the fast path.

in vec4 i_mean_opacity;
in vec4 i_quat;
in vec4 i_scale;
in vec4 i_color;

flat out vec2 v_mean2d;
flat out vec3 v_conic;
flat out vec4 v_color_opacity;

void main() {
    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1) * 2.0 - 1.0;  // triangle strip, 4 vertices
    vec2 mean2d, axis1, axis2;
    vec3 conic;
    bool kept = project_splat(i_mean_opacity.xyz, i_quat, i_scale.xyz, i_mean_opacity.w, false,
                              mean2d, conic, axis1, axis2);
    vec2 pixel = mean2d + corner.x * axis1 + corner.y * axis2;
    // Unflipped y: see splat_quad.vert.
    gl_Position = kept ? vec4(pixel / u_image_size * 2.0 - 1.0, 0.0, 1.0) : vec4(2.0, 2.0, 2.0, 1.0);
    v_mean2d = mean2d;
    v_conic = conic;
    v_color_opacity = vec4(i_color.rgb, i_mean_opacity.w);
}

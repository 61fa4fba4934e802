// Per-fragment Gaussian weight, exactly as gsplat's rasterize_to_pixels: alpha = min(ALPHA_MAX, o * g),
// fragments below ALPHA_MIN skipped. Output is premultiplied, blended back to front with
// (ONE, ONE_MINUS_SRC_ALPHA) into a float target cleared to 0: rgb = sum of w_i c_i, a = 1 - T.

flat in vec2 v_mean2d;
flat in vec3 v_conic;
flat in vec4 v_color_opacity;

out vec4 frag_color;

void main() {
    vec2 d = v_mean2d - gl_FragCoord.xy;  // gl_FragCoord.xy = pixel centre (i + 0.5), y down here
    float sigma = 0.5 * (v_conic.x * d.x * d.x + v_conic.z * d.y * d.y) + v_conic.y * d.x * d.y;
    float alpha = min(ALPHA_MAX, v_color_opacity.a * exp(-sigma));
    if (sigma < 0.0 || alpha < ALPHA_MIN) discard;
    frag_color = vec4(v_color_opacity.rgb * alpha, alpha);
}

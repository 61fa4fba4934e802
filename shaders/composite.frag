// Composite the premultiplied splat accumulation over the background and un-premultiply:
// straight RGBA, the same formula as viewer.reference.composite_over.

uniform sampler2D u_accum;   // premultiplied rgb, alpha = 1 - transmittance
uniform vec4 u_background;   // straight rgba

out vec4 frag_color;

void main() {
    vec4 acc = texelFetch(u_accum, ivec2(gl_FragCoord.xy), 0);
    float transmittance = 1.0 - acc.a;
    float alpha = acc.a + transmittance * u_background.a;
    vec3 premultiplied = acc.rgb + transmittance * u_background.a * u_background.rgb;
    frag_color = alpha > 0.0 ? vec4(premultiplied / alpha, alpha) : vec4(0.0);
}

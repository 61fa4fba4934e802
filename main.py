"""avatar-studio command line: the studio (no subcommand), render, export, bench.

Every user-facing failure is one line on stderr and a non-zero exit; see `core.errors`.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core.errors import AvatarStudioError

EXIT_USER_ERROR = 2


def _add_avatar_options(p: argparse.ArgumentParser, wardrobe: bool = False) -> None:
    g = p.add_argument_group("avatar")
    who = g.add_mutually_exclusive_group() if wardrobe else g
    who.add_argument("--seed", type=int, default=0,
                     help="avatar seed (default 0): sampled from the trained generator when it is installed")
    if wardrobe:
        who.add_argument("--wardrobe", type=int, metavar="SEED",
                         help="a synthetic-wardrobe avatar instead: dressed and shaped by SEED")
        who.add_argument("--plain", type=int, metavar="SEED",
                         help="the plain seeded default avatar instead (no generator; what --seed gives on a body "
                              "the generator was not trained for)")
        g.add_argument("--interp", type=int, metavar="B",
                       help="with --seed A: the generator's interpolation from seed A to seed B, at --t")
        g.add_argument("--t", type=float, default=0.5, help="interpolation position, 0 = A .. 1 = B (default 0.5)")
        g.add_argument("--steps", type=int, help="generator denoising steps (default: the checkpoint's)")
    g.add_argument("--body", default="anny", help="body model: anny (default, free) or smplx")
    g.add_argument("--body-dir", type=Path, help="folder with SMPLX_NEUTRAL.npz and smplx_uv.obj (--body smplx)")
    g.add_argument("--gender", default="neutral", choices=["neutral", "male", "female"],
                   help="SMPL-X model file to use (--body smplx)")


def _add_composition_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("layers and projects")
    g.add_argument("--layer", action="append", default=[], metavar="LAYER=SEED",
                   help="take a garment layer (top, bottom, hair, shoes) from another seed of the same source, "
                        "or remove it with LAYER=none; repeatable, e.g. --layer top=7 --layer hair=none")
    g.add_argument("--project", type=Path, metavar="FILE.avs",
                   help="the avatar, paint, pose and camera of a saved project (replaces the avatar options)")


def _add_pose_option(p: argparse.ArgumentParser, default: str | None) -> None:
    p.add_argument("--pose", default=default, choices=["t", "a", "relaxed"],
                   help=f"pose preset (default: {default or 'canonical rest pose'})")


def _add_motion_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("motion")
    g.add_argument("--motion", metavar="FILE", help="pose from a motion: AMASS .npz, our .npz/.json clip, "
                   "or a built-in name (idle, walk, wave, turn, jump); overrides --pose")
    g.add_argument("--frame", type=int, help="frame of --motion to use (default 0)")
    g.add_argument("--hands", default="flat", choices=["flat", "mean"],
                   help="AMASS hand poses are relative to the flat hand (default) or to the SMPL-X mean hand "
                        "(needs --body-dir)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avatar-studio",
        description="Explore and edit generative 3D Gaussian-splat human avatars. "
                    "Without a subcommand, opens the studio window.",
    )
    _add_avatar_options(parser)
    parser.add_argument("--screenshot", type=Path, help="run --frames frames, save a PNG of the window, exit")
    parser.add_argument("--frames", type=int, default=30, help="frames to run before --screenshot (default 30)")
    parser.add_argument("--window-size", type=int, nargs=2, default=(1400, 860), metavar=("W", "H"))
    parser.add_argument("--play", metavar="MOTION", help="studio: open this motion (a file or a built-in name: "
                        "idle, walk, wave, turn, jump) and play it once the avatar shows")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    render = sub.add_parser("render", help="render an avatar to a PNG, headless (EGL, no display needed)")
    _add_avatar_options(render, wardrobe=True)
    _add_composition_options(render)
    _add_pose_option(render, "relaxed")
    _add_motion_options(render)
    render.add_argument("--video", type=Path, metavar="OUT.mp4", help="render the whole --motion to an MP4 video")
    render.add_argument("--turntable", type=Path, metavar="OUT.mp4",
                        help="a full turn of the camera around the avatar, as MP4 or GIF")
    render.add_argument("--frames", type=int, default=120, help="frames of --turntable (default 120)")
    render.add_argument("--transparent", action="store_true", help="transparent PNG background")
    render.add_argument("--fps", type=float, help="video frame rate (default: the motion's)")
    render.add_argument("--out", type=Path, help="output PNG (required unless --video)")
    render.add_argument("--ply", type=Path, help="render this 3DGS PLY (ours or any other) instead of an avatar")
    render.add_argument("--size", type=int, nargs=2, default=(512, 512), metavar=("W", "H"))
    render.add_argument("--yaw", type=float, default=0.0, help="degrees; 0 = front, 90 = avatar's left side")
    render.add_argument("--pitch", type=float, default=0.0, help="degrees; positive looks down from above")
    render.add_argument("--background", type=float, nargs=4, default=(0.16, 0.16, 0.18, 1.0),
                        metavar=("R", "G", "B", "A"), help="0..1 each; A=0 for a transparent PNG")

    export = sub.add_parser("export", help="export an avatar: 3DGS PLY, .splat, rigged FBX (at least one)")
    _add_avatar_options(export, wardrobe=True)
    _add_composition_options(export)
    _add_pose_option(export, None)
    _add_motion_options(export)
    export.add_argument("--posed", action="store_true",
                        help="export posed: the --motion frame, else the --pose preset (default relaxed); "
                             "implied by --motion")
    export.add_argument("--ply", type=Path, help="output 3DGS PLY")
    export.add_argument("--splat", type=Path, help="output .splat (32 bytes per Gaussian, for web splat viewers)")
    export.add_argument("--fbx", type=Path, help="output FBX: layer meshes, textures, skeleton and skin; "
                        "with --motion the clip as animation, else standing in --pose (default T-pose)")
    export.add_argument("--layers", metavar="LIST", help="comma-separated layers to export, e.g. body,top "
                        "(default all: body,top,bottom,hair,shoes)")
    export.add_argument("--avs", type=Path, metavar="OUT.avs",
                        help="save a project file of what the other options describe (avatar, layers, pose)")
    export.add_argument("--sh-degree", type=int, default=0, choices=[0, 1, 2, 3],
                        help="pad f_rest with zeros up to this SH degree for viewers that need it")

    bench = sub.add_parser("bench", help="time the viewport per stage (skin, sort, upload, draw, readback), "
                                         "ours next to the naive reference in the same run")
    _add_avatar_options(bench)
    bench.add_argument("--size", "--sizes", dest="sizes", nargs="+", default=["512", "1024"], metavar="N|WxH",
                       help="viewport sizes, e.g. 512 1024x768 (default 512 1024)")
    bench.add_argument("--backend", default="gl", choices=["gl", "gsplat"],
                       help="gl: our two GL paths (tiles, quads; GPU skinning); gsplat: gsplat on CUDA. "
                            "Both beside the naive GL reference")
    bench.add_argument("--gaussians", type=int, metavar="N",
                       help="resample the avatar to N Gaussians (subset, or splits over each footprint)")
    bench.add_argument("--frames", type=int, default=30, help="frames per case (default 30), medians reported")
    bench.add_argument("--detail", type=float, default=1.0,
                       help="level of detail of our cases, 0..1 (default 1: every Gaussian; the studio's live frames "
                            "on software GL use less); the naive reference always draws every Gaussian")
    bench.add_argument("--json", action="store_true", help="print one JSON object (a `results` list) instead of a table")

    train = sub.add_parser("train", help="train the generator (per-avatar latents, decoder, denoiser) on the "
                                         "synthetic wardrobe; resumes a run left in --out")
    train.add_argument("--out", type=Path, required=True, help="run folder: checkpoint, loss plot, resume state")
    train.add_argument("--steps", type=int, default=20000, help="training steps (default 20000)")
    train.add_argument("--batch", type=int, default=32, help="avatars per step and process (default 32)")
    train.add_argument("--device", default="cpu", help="cpu (default) or cuda; under torchrun one GPU per process")
    train.add_argument("--preset", default="default", choices=["default", "tiny"], help="model size (tiny: a smoke test)")
    train.add_argument("--avatars", type=int, default=4000, help="wardrobe seeds 0..N-1 to train on (default 4000)")
    train.add_argument("--data", type=Path, help="training set folder (default OUT/data; built when missing)")
    train.add_argument("--workers", type=int, default=1, help="processes painting the training set (default 1)")
    train.add_argument("--minutes", type=float, help="stop (and save) after this many minutes; run again to resume")
    train.add_argument("--reference-body", type=Path, metavar="FILE",
                       help="paint the training set on a saved reference body (core.generator.dataset) instead "
                            "of loading --body")
    train.add_argument("--init", type=Path, metavar="CHECKPOINT",
                       help="start decoder and denoiser from this checkpoint folder (latents start afresh)")
    train.add_argument("--prior-fraction", type=float, default=0.0, metavar="F",
                       help="train the denoiser alone on the frozen latents for the last F of the run (default 0)")
    train.add_argument("--latent-lr", type=float, default=0.02, metavar="LR",
                       help="learning rate of the per-avatar latents (SparseAdam; default 0.02)")
    train.add_argument("--latent-noise", type=float, default=0.0, metavar="S",
                       help="the decoder sees latents plus S x their per-channel-and-panel std of Gaussian noise, "
                            "meant to make near-miss samples decode to whole garments (default 0: off)")
    train.add_argument("--diffusion-weight", default="min-snr", choices=["min-snr", "min-snr+1"],
                       help="the denoiser's v-loss weight: min(SNR, 5)/(SNR+1) (default) or min(SNR+1, 5)/(SNR+1), "
                            "which trains the noisiest steps, where a sample's layout is decided, as much as the rest")
    train.add_argument("--body", default="anny", help="body model: anny (default) or smplx")
    train.add_argument("--body-dir", type=Path, help="folder with SMPLX_NEUTRAL.npz and smplx_uv.obj (--body smplx)")
    train.add_argument("--gender", default="neutral", choices=["neutral", "male", "female"])

    open_ = sub.add_parser("open", help="open the studio on a project file (.avs)")
    open_.add_argument("file", type=Path, metavar="FILE.avs", help="the project to open")
    open_.add_argument("--screenshot", type=Path, help="run --frames frames, save a PNG of the window, exit")
    open_.add_argument("--frames", type=int, default=30, help="frames to run before --screenshot (default 30)")
    open_.add_argument("--window-size", type=int, nargs=2, default=(1400, 860), metavar=("W", "H"))
    open_.add_argument("--body-dir", type=Path, help="folder with SMPLX_NEUTRAL.npz and smplx_uv.obj (smplx projects)")

    sheet = sub.add_parser("wardrobe-sheet", help="render a contact sheet of synthetic-wardrobe avatars (front view)")
    _add_avatar_options(sheet)
    sheet.add_argument("--count", type=int, default=16, help="avatars: seeds --seed .. --seed + count - 1 (default 16)")
    sheet.add_argument("--out", type=Path, required=True, help="output PNG")
    sheet.add_argument("--size", type=int, nargs=2, default=(256, 512), metavar=("W", "H"),
                       help="pixels per avatar (default 256 512)")
    return parser


def _wants_composition(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "layer", None)) or getattr(args, "project", None) is not None \
        or getattr(args, "avs", None) is not None


def _project_file(args: argparse.Namespace):
    """The --project file, read once (a bad file fails here, in one line, before any avatar is built)."""
    if getattr(args, "layer", None):
        from editor.cli import parse_layer_options

        parse_layer_options(args.layer)  # a bad --layer fails at once, before any model loads
    if getattr(args, "project", None) is None:
        return None
    if not hasattr(args, "_project"):
        from editor.project import load_project

        if args.layer:
            raise AvatarStudioError("--layer composes a new avatar; --project opens a saved one: use one of them")
        args._project = load_project(args.project)
    return args._project


def _composed(args: argparse.Namespace):
    """The avatar of --layer / --project, with its project (what export --avs saves), built once."""
    if not hasattr(args, "_composed"):
        from editor.cli import composed_from_args

        args._composed = composed_from_args(args, _project_file(args))
    return args._composed


def load_avatar(args: argparse.Namespace):
    """The avatar the options describe. Every source goes through editor.cli's composition (one set of
    checks, one rule for when the generator applies, sampling on one thread so every command builds the
    same bits for a seed); the plain default stays built per anchor, as composing it would first fit it
    into maps (~11 s)."""
    if _wants_composition(args):
        return _composed(args).avatar
    from core.body import load_body
    from core.default_avatar import default_avatar
    from editor.cli import composition_from_args, generator_for
    from editor.composition import Composer

    body = load_body(args.body, args.body_dir, args.gender)
    wants_model = getattr(args, "wardrobe", None) is None and getattr(args, "plain", None) is None
    generator = generator_for(body) if wants_model else None
    composition = composition_from_args(args, generator is not None, body.name)
    if composition.base.kind == "plain":
        return default_avatar(body, seed=composition.base.seed)
    return Composer(body, generator).avatar(composition)


def _motion(args: argparse.Namespace):
    """The --motion clip, or None; read before the avatar is built so a bad file fails at once."""
    project = _project_file(args)
    if args.motion is None and project is not None and project.motion is not None:
        from core.motion import load_motion

        clip = load_motion(project.motion.name)
        clip.frame(args.frame if args.frame is not None else project.motion.frame)
        if args.frame is None:
            args.frame = project.motion.frame
        return clip
    if args.motion is None:
        if args.frame is not None or getattr(args, "video", None) is not None:
            raise AvatarStudioError("--frame and --video need --motion FILE (a motion file or a built-in name)")
        return None
    from core.motion import load_motion, smplx_hand_mean

    hand_mean = smplx_hand_mean(args.body_dir, args.gender) if args.hands == "mean" else None
    clip = load_motion(args.motion, hand_mean=hand_mean)
    clip.frame(args.frame or 0)  # an out-of-range --frame fails here, not after the avatar is built
    return clip


def _pose(args: argparse.Namespace, avatar=None, clip=None):
    from core.pose import Pose

    if clip is not None:
        return clip.frame(args.frame or 0, avatar.rest.translation_scale)
    project = _project_file(args)
    if project is not None and project.pose is not None:
        return project.pose_object()
    if getattr(args, "posed", False) and not args.pose:
        return Pose.preset("relaxed")
    return Pose.preset(args.pose) if args.pose else None


def _render_turntable(args: argparse.Namespace, clip) -> int:
    from viewer.video import check_video_request, print_progress, render_turntable

    fps = args.fps or 30.0
    check_video_request(args.turntable, tuple(args.size), fps)
    avatar = load_avatar(args)
    gaussians = avatar.posed(_pose(args, avatar, clip))
    count = render_turntable(gaussians, args.turntable, frames=args.frames, fps=fps, size=tuple(args.size),
                             background=tuple(args.background), progress=print_progress)
    print(f"wrote {args.turntable} ({count} frames, {args.size[0]}x{args.size[1]}, {fps:g} fps)")
    return 0


def _render_video(args: argparse.Namespace, clip) -> int:
    from viewer.video import check_video_request, print_progress, render_motion_video

    if args.frame is not None:
        raise AvatarStudioError("--frame picks one frame for a PNG; --video renders them all")
    check_video_request(args.video, tuple(args.size), args.fps)
    count = render_motion_video(load_avatar(args), clip, args.video, fps=args.fps, size=tuple(args.size),
                                yaw_deg=args.yaw, pitch_deg=args.pitch, background=tuple(args.background),
                                progress=print_progress)
    print(f"wrote {args.video} ({count} frames, {args.size[0]}x{args.size[1]}, {args.fps or clip.fps:g} fps)")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    import imageio.v3 as iio

    from core.atomic import atomic_write, check_writable
    from viewer.camera import OrbitCamera
    from viewer.gl_renderer import GLSplatRenderer, share_cores_with_software_gl

    clip = _motion(args)
    if args.transparent:
        args.background = (0.0, 0.0, 0.0, 0.0)
    if args.video is not None:
        return _render_video(args, clip)
    if args.turntable is not None:
        return _render_turntable(args, clip)
    if args.out is None:
        raise AvatarStudioError("render needs --out FILE.png (or --video FILE.mp4 with --motion)")
    if args.fps is not None:
        raise AvatarStudioError("--fps sets the frame rate of --video")
    if args.out.suffix.lower() != ".png":
        raise AvatarStudioError(f"{args.out}: render writes PNG files, use a .png name")
    check_writable(args.out)
    width, height = args.size
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise AvatarStudioError(f"--size {width} {height}: each side must be 16..8192 pixels")
    renderer = GLSplatRenderer()
    share_cores_with_software_gl(renderer.ctx)
    if args.ply is not None:
        from core.ply import read_ply

        gaussians = read_ply(args.ply)
    else:
        avatar = load_avatar(args)
        gaussians = avatar.posed(_pose(args, avatar, clip))
    camera = OrbitCamera()
    camera.frame(gaussians.means.min(0).values.tolist(), gaussians.means.max(0).values.tolist(), width / height)
    camera.yaw_deg, camera.pitch_deg = args.yaw, args.pitch
    project = _project_file(args)
    if project is not None and project.camera is not None:  # the view the project was saved with
        from editor.project import apply_camera

        apply_camera(camera, project.camera)
    renderer.set_gaussians(gaussians.means, gaussians.quats, gaussians.scales, gaussians.opacities, gaussians.colors)
    image = renderer.render(camera, width, height, background=tuple(args.background))
    with atomic_write(args.out) as f:
        iio.imwrite(f, image, extension=".png")
    print(f"wrote {args.out} ({width}x{height}, {len(gaussians)} Gaussians)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from core.export import check_output, parse_layers

    outputs = {kind: getattr(args, kind) for kind in ("ply", "splat", "fbx") if getattr(args, kind) is not None}
    if not outputs and args.avs is None:
        raise AvatarStudioError("export needs at least one output: --ply OUT.ply, --splat OUT.splat, --fbx OUT.fbx "
                                "or --avs OUT.avs")
    for kind, path in outputs.items():
        check_output(path, kind)
    if args.avs is not None:
        from editor.cli import check_avs_output

        check_avs_output(args.avs)
    layers = parse_layers(args.layers)
    clip = _motion(args)
    avatar = load_avatar(args) if outputs else None  # --avs alone needs no avatar, only what describes it
    if args.avs is not None:
        from editor.cli import save_cli_project

        pose = _pose(args, avatar, None) if clip is None and (args.posed or args.pose) else None
        save_cli_project(args, _composed(args), pose)
    if args.ply is not None or args.splat is not None:
        _export_gaussians(args, avatar, clip, layers)
    if args.fbx is not None:
        _export_fbx(args, avatar, clip, layers)
    return 0


def _export_gaussians(args: argparse.Namespace, avatar, clip, layers: tuple[str, ...]) -> None:
    from core.export import select_layers
    from core.ply import write_ply
    from core.splat_file import write_splat

    gaussians = select_layers(avatar.posed(_pose(args, avatar, clip)), layers)
    lo, hi = gaussians.means.min(0).values, gaussians.means.max(0).values
    summary = (f"{len(gaussians)} Gaussians, bounds {[round(v, 3) for v in lo.tolist()]} .. "
               f"{[round(v, 3) for v in hi.tolist()]} m")
    if args.ply is not None:
        write_ply(args.ply, gaussians, sh_degree=args.sh_degree)
        print(f"wrote {args.ply}: {summary}")
    if args.splat is not None:
        write_splat(args.splat, gaussians)
        print(f"wrote {args.splat}: {summary}")


def _export_fbx(args: argparse.Namespace, avatar, clip, layers: tuple[str, ...]) -> None:
    from core.export_fbx import export_fbx

    maps = None
    if _wants_composition(args):  # the composed (and painted) maps give the textures exactly
        maps = _composed(args).painted_maps()
    elif getattr(args, "wardrobe", None) is not None:  # its attribute maps give the textures exactly
        from core.wardrobe import wardrobe_maps

        maps = wardrobe_maps(avatar.body, args.wardrobe)
    pose = None if clip is not None else _pose(args, avatar, None)
    done = export_fbx(args.fbx, avatar, layers=layers, clip=clip, pose=pose, maps=maps)
    motion = f", {done.frames} frames at {done.fps:g} fps ({done.duration:.2f} s)" if done.frames else ""
    print(f"wrote {args.fbx}: meshes {','.join(done.meshes)}, {done.bones} bones{motion}, "
          f"{done.bytes / 1e6:.1f} MB (units cm, Y up)")


def cmd_bench(args: argparse.Namespace) -> int:
    from viewer.bench import check_arguments, make_gsplat_renderer, parse_size, run_bench

    sizes = [parse_size(text) for text in args.sizes]
    check_arguments(args.frames, args.detail, args.backend, args.gaussians)
    gsplat_renderer = make_gsplat_renderer() if args.backend == "gsplat" else None  # no CUDA: one line, now
    return run_bench(load_avatar(args), sizes=sizes, frames=args.frames, backend=args.backend,
                     gaussians=args.gaussians, as_json=args.json, detail=args.detail,
                     gsplat_renderer=gsplat_renderer)


def cmd_studio(args: argparse.Namespace) -> int:
    from app.studio import StudioOptions, run_studio

    if args.screenshot is not None:
        from core.atomic import check_writable

        check_writable(args.screenshot)
    return run_studio(StudioOptions(
        seed=args.seed, body=args.body, body_dir=args.body_dir, gender=args.gender,
        screenshot=args.screenshot, frames=args.frames, window_size=tuple(args.window_size), play=args.play,
    ))


def cmd_open(args: argparse.Namespace) -> int:
    from app.studio import StudioOptions, run_studio
    from editor.project import load_project

    project = load_project(args.file)  # a bad file is one line here, before the window opens
    if args.screenshot is not None:
        from core.atomic import check_writable

        check_writable(args.screenshot)
    return run_studio(StudioOptions(
        seed=project.composition.base.seed, body=project.body, body_dir=args.body_dir, screenshot=args.screenshot,
        frames=args.frames, window_size=tuple(args.window_size), project=str(args.file),
    ))


def cmd_wardrobe_sheet(args: argparse.Namespace) -> int:
    import imageio.v3 as iio

    from core.atomic import atomic_write, check_writable
    from core.body import load_body
    from core.wardrobe.sheet import contact_sheet
    from viewer.camera import OrbitCamera
    from viewer.gl_renderer import GLSplatRenderer, share_cores_with_software_gl

    if args.out.suffix.lower() != ".png":
        raise AvatarStudioError(f"{args.out}: wardrobe-sheet writes PNG files, use a .png name")
    if not 1 <= args.count <= 256 or not all(16 <= v <= 2048 for v in args.size):
        raise AvatarStudioError("--count must be 1..256 and each --size side 16..2048 pixels")
    check_writable(args.out)
    body = load_body(args.body, args.body_dir, args.gender)
    renderer = GLSplatRenderer()
    share_cores_with_software_gl(renderer.ctx)

    def render(gaussians, lo, hi, width, height):
        camera = OrbitCamera()
        camera.frame(lo, hi, width / height)
        g = gaussians
        renderer.set_gaussians(g.means, g.quats, g.scales, g.opacities, g.colors)
        return renderer.render(camera, width, height, background=(0.16, 0.16, 0.18, 1.0))

    seeds = list(range(args.seed, args.seed + args.count))
    image = contact_sheet(body, seeds, render, cell=tuple(args.size),
                          progress=lambda i, n: print(f"avatar {i}/{n}", end="\r", file=sys.stderr, flush=True))
    with atomic_write(args.out) as f:
        iio.imwrite(f, image, extension=".png")
    print(f"wrote {args.out} ({image.shape[1]}x{image.shape[0]}, seeds {seeds[0]}..{seeds[-1]})")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from core.generator.training import train_command

    return train_command(args.out, args.steps, args.batch, args.device, args.preset, args.avatars, args.data,
                         args.workers, args.minutes, args.body, args.body_dir, args.gender, args.reference_body,
                         args.init, args.prior_fraction, args.latent_lr, args.latent_noise,
                         args.diffusion_weight)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("WARP_LOG_LEVEL", "error")
    args = build_parser().parse_args(argv)
    command = {"render": cmd_render, "export": cmd_export, "bench": cmd_bench,
               "wardrobe-sheet": cmd_wardrobe_sheet, "train": cmd_train, "open": cmd_open}.get(args.command, cmd_studio)
    try:
        return command(args)
    except AvatarStudioError as e:
        print(f"avatar-studio: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("avatar-studio: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

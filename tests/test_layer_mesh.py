"""Layer meshes for mesh exports: garments cut to where they are shown, textures that carry the colours."""
import numpy as np
import torch

from core.attribute_maps import OPACITY, RGB, blank_map, chart_uv, gaussians_to_samples, reference_templates
from core.layer_mesh import bake_texture, layer_mesh, map_texture, present_faces, reference_chart_uvs


def texel(texture, u, v):
    size = texture.shape[0]
    return texture[int((1 - v) * size), int(u * size)]


def test_bake_fills_every_texel_from_the_nearest_colours():
    uvs = torch.tensor([[0.25, 0.5], [0.26, 0.52], [0.75, 0.5], [0.74, 0.47]])
    colors = torch.tensor([[1.0, 0, 0], [1.0, 0, 0], [0, 0, 1.0], [0, 0, 1.0]])
    texture = bake_texture(uvs, colors, 64)
    assert texture.shape == (64, 64, 3) and texture.dtype == np.uint8
    assert list(texel(texture, 0.25, 0.5)) == [255, 0, 0]
    assert list(texel(texture, 0.1, 0.9)) == [255, 0, 0], "far texels take the nearest side's colour"
    assert list(texel(texture, 0.9, 0.1)) == [0, 0, 255]
    assert (texture.sum(-1) > 0).all(), "no black texels left for mipmaps to bleed into seams"


def test_garment_mesh_covers_exactly_where_the_garment_is_shown(avatar):
    template = avatar.templates["top"]
    samples, present = gaussians_to_samples(template, avatar.gaussians.layer("top"))
    keep = present_faces(template, samples[:, OPACITY])
    on_kept = keep[template.anchor_face]
    assert on_kept[present].float().mean() > 0.97, "the mesh covers the shown top"
    assert present[on_kept].float().mean() > 0.95, "and little more"
    top = layer_mesh(avatar, "top")
    assert top.faces.shape[0] == int(keep.sum()) < template.faces.shape[0]
    shown = avatar.gaussians.layer("top").means
    assert torch.cdist(top.vertices, shown).min(dim=1).values.max() < 0.03, "no mesh far from the shown top"
    body = layer_mesh(avatar, "body")
    assert body.faces.shape[0] == avatar.templates["body"].faces.shape[0], "the body stays complete"
    assert torch.allclose(top.normals.norm(dim=-1), torch.ones(()), atol=1e-4)
    assert torch.allclose(top.skin_weights.sum(dim=1), torch.ones(()), atol=1e-5)


def test_texture_at_the_mesh_uvs_shows_the_gaussian_colours(avatar):
    for name in ("body", "top", "hair"):
        mesh = layer_mesh(avatar, name)
        gaussians = avatar.gaussians.layer(name)
        size = mesh.texture.shape[0]
        corners = torch.randperm(mesh.faces.numel(), generator=torch.Generator().manual_seed(0))[:2000]
        corner_uv = mesh.uvs[mesh.face_uvs.reshape(-1)[corners]]
        corner_xyz = mesh.vertices[mesh.faces.reshape(-1)[corners]]
        rows = ((1 - corner_uv[:, 1]) * size).long().clamp(0, size - 1)
        cols = (corner_uv[:, 0] * size).long().clamp(0, size - 1)
        sampled = torch.from_numpy(mesh.texture[rows.numpy(), cols.numpy()]).float() / 255
        distance, nearest = torch.cdist(corner_xyz, gaussians.means).min(dim=1)
        close = distance < 0.01
        error = (sampled[close] - gaussians.colors[nearest[close]]).abs().mean(dim=1)
        assert float(error.median()) < 0.02, name


def test_attribute_maps_give_the_texture_and_the_chart(avatar):
    """With maps, UVs move into the maps' reference chart: at every anchor they agree with chart_uv."""
    reference = reference_templates(avatar.body)[1]
    for name in ("top", "bottom"):
        template = avatar.templates[name]
        moved = reference_chart_uvs(template, reference[name])
        corners = moved[template.face_uvs[template.anchor_face]]
        at_anchor = (corners * template.anchor_bary[..., None]).sum(dim=1)
        assert torch.allclose(at_anchor, chart_uv(template, reference[name]), atol=2e-5), name
    layer_map = blank_map("top")
    layer_map[RGB] = torch.tensor([0.2, 0.6, 0.4])[:, None, None]
    texture = map_texture(layer_map, reference["top"])
    assert texture.shape == (layer_map.shape[1], layer_map.shape[2], 3)
    assert (np.abs(texture.astype(int) - [51, 153, 102]) <= 1).all(), "the chart's colour, padded outwards"

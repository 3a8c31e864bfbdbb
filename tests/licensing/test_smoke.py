def test_shandong_admin_sees_only_shandong_licences(
    client, shandong_admin, shandong_licence, zhejiang_licence
):
    client.force_login(shandong_admin)
    response = client.get("/admin/licensing/licence/")
    assert response.status_code == 200
    assert shandong_licence.number in response.content.decode()
    assert zhejiang_licence.number not in response.content.decode()
    assert client.get(f"/admin/licensing/licence/{zhejiang_licence.pk}/change/").status_code == 404

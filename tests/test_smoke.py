def test_login_page_renders(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/queue/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]

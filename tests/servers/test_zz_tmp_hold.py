import time
def test_hold(s3, hub):
    u = hub.create_user("x"); hub.start_server(u)
    open("/tmp/ready.flag","w").write("1")
    time.sleep(60)
